#!/usr/bin/env bash
# Node tools the tests use (called by scripts/setup.sh --test): PlayCanvas splat-transform 2.7.1,
# the independent reader of every splat export, into the git-ignored .tools/.
set -euo pipefail
cd "$(dirname "$0")/.."
tests/tools/install_splat_transform.sh
