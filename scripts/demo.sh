#!/usr/bin/env bash
# One command for a newcomer: set up, generate the sample flight and process it as far as the pipeline goes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. .venv/bin/activate
exec spaceport demo --dir "${DEMO_DIR:-demo}" "$@"
