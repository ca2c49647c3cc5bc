#!/usr/bin/env bash
# Creates .venv and installs Spaceport into it (CPU torch unless a torch is already there).
# Usage: scripts/setup.sh [--test]   (--test adds the test tools, the apt packages and node tools)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1

if [ "$with_tests" = 1 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  need=""
  for pkg in xvfb xauth libgl1-mesa-dri libgl1 libegl1 libegl-mesa0 libglx-mesa0 libopengl0 \
             libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
             libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 \
             libxcb-xfixes0 libfontconfig1 libdbus-1-3; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"
  done
  if [ -n "$need" ]; then
    echo "== installing system packages:$need"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip
# CPU machines get the pinned CPU build; a GPU user installs a CUDA torch first (see README).
python -c "import torch" 2>/dev/null || python -m pip install -q torch==2.13.0
if [ "$with_tests" = 1 ]; then
  python -m pip install -q -e ".[test]"
  if [ -x scripts/install_node_tools.sh ]; then scripts/install_node_tools.sh || echo "(node tools unavailable: their tests will be skipped)"; fi
else
  python -m pip install -q -e .
fi
echo "== setup done: $(python -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda" if torch.cuda.is_available() else "cpu")')"
