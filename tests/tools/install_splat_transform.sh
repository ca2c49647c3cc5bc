#!/usr/bin/env bash
# Install PlayCanvas splat-transform 2.7.1 (the independent SOG/.spz/.splat/compressed-PLY reader
# used by tests/test_compress_splat_transform.py) into a git-ignored folder of the repository.
# Usage: tests/tools/install_splat_transform.sh [DEST]   (default: .tools/splat-transform)
# Needs node >= 20 and npm; 3.x needs node >= 22, hence the pinned 2.7.1.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dest="${1:-$root/.tools/splat-transform}"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "node/npm not found: splat-transform tests will be skipped" >&2
  exit 0
fi
mkdir -p "$dest"
cd "$dest"
[ -f package.json ] || npm init -y >/dev/null
npm install --no-audit --no-fund @playcanvas/splat-transform@2.7.1 >/dev/null
"$dest/node_modules/.bin/splat-transform" --version
