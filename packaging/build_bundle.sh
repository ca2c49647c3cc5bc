#!/usr/bin/env bash
# Builds the one-folder desktop bundle dist/spaceport/ (the `spaceport` GUI and its subcommands)
# from packaging/spaceport.spec with PyInstaller, then prints its size.
# Usage: packaging/build_bundle.sh [--clean]
#   needs the .venv of scripts/setup.sh; installs the `package` extra (PyInstaller) into it.
#   --clean rebuilds from scratch (PyInstaller's cache in build/pyinstaller is otherwise reused).
# Then: python packaging/smoke_bundle.py starts it under Xvfb on the sample project (not run in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "error: no .venv; run scripts/setup.sh first" >&2; exit 2; }
. .venv/bin/activate
python -m pip install -q -e ".[package]"
clean=()
[ "${1:-}" = "--clean" ] && clean=(--clean)
start=$(date +%s)
pyinstaller packaging/spaceport.spec --noconfirm "${clean[@]}" \
  --distpath dist --workpath build/pyinstaller --log-level WARN
echo "== built dist/spaceport in $(( $(date +%s) - start )) s: $(du -sh dist/spaceport | cut -f1)"
