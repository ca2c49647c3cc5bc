#!/usr/bin/env bash
# One command for a newcomer and for CI: set up (venv, apt packages, node tools) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
. .venv/bin/activate
run=(python -m pytest -ra "$@")
if [ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null; then
  run=(xvfb-run -a -s "-screen 0 1280x1024x24" "${run[@]}")
fi
set +e
"${run[@]}"
rc=$?
set -e
if [ "$rc" = 5 ]; then echo "no tests were collected"; exit 1; fi
exit "$rc"
