#!/usr/bin/env bash
# GPU training benchmark, one command, no internet:
#   bench/gpu/run.sh [--steps N] [--datasets sample,brighton] [--configs spaceport,simple_trainer]
# Installs gsplat and the pipeline's dependencies from bench/gpu/wheels (README.md says how to
# fill it), builds gsplat's CUDA extension once into bench/gpu/build (a rerun reuses it), then
# checks the CPU rasterizer against the CUDA one (tests/render_parity.py, stops on a mismatch),
# trains the sample flight and brighton_beach and prints steps/s, peak GPU memory, Gaussians and
# held-out PSNR. Results: bench/gpu/results/train_gpu.json, render_parity.txt.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PY="${PYTHON:-python3}"
WHEELS="${WHEELS:-$HERE/wheels}"
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
export MAX_JOBS="${MAX_JOBS:-16}"
export TORCH_EXTENSIONS_DIR="${TORCH_EXTENSIONS_DIR:-$HERE/build/torch_extensions}"
mkdir -p "$TORCH_EXTENSIONS_DIR"

"$PY" -c "import torch; assert torch.cuda.is_available(), 'torch sees no CUDA GPU'; \
print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))"
if ! "$PY" -c "import gsplat, pycolmap, pytorch_msssim, plyfile, scipy" 2>/dev/null; then
  if [ -z "$(ls "$WHEELS"/*.whl 2>/dev/null)" ]; then
    echo "no wheels in $WHEELS: fill it as bench/gpu/README.md says" >&2
    exit 2
  fi
  "$PY" -m pip install --no-index --no-deps --find-links "$WHEELS" -r "$HERE/requirements.txt"
fi
if [ -z "${CUDA_HOME:-}" ] && command -v nvcc >/dev/null; then
  CUDA_HOME="$(dirname "$(dirname "$(command -v nvcc)")")"
  export CUDA_HOME
fi

start=$(date +%s)
"$PY" -c "from gsplat.cuda._backend import _C; assert _C is not None, 'gsplat CUDA build failed'"
echo "gsplat CUDA extension ready in $(( $(date +%s) - start )) s (kept in $TORCH_EXTENSIONS_DIR)"

cd "$ROOT"
# the CPU rasterizer (tests, CPU previews) must render and differentiate as gsplat's CUDA one
mkdir -p "$HERE/results"
"$PY" tests/render_parity.py | tee "$HERE/results/render_parity.txt"
exec "$PY" bench/gpu/train_gpu.py "$@"
