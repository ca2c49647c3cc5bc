"""CPU rasterizer against gsplat's CUDA rasterizer on the same splats and camera: image, alpha
and the gradients training uses (parameters and the 2D means densification reads).

`python tests/render_parity.py` prints the largest differences and exits 1 beyond TOLERANCE
(bench/gpu/run.sh runs it on a GPU machine); tests/test_render_parity.py runs it under pytest
when CUDA is there.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from app.pipeline.render.rasterize import rasterize_cpu, rasterize_cuda  # noqa: E402
from reference_render import few_splats  # noqa: E402

TOLERANCE = {"image": 5e-4, "alpha": 5e-4, "gradients": 1e-2}  # gradients: relative to their max
KEYS = ("means", "scales", "quats", "opacities", "sh0", "shN")


def random_splats(n: int = 400, seed: int = 0) -> dict[str, torch.Tensor]:
    """n splats spread in front of few_splats' camera, degree-1 SH."""
    g = torch.Generator().manual_seed(seed)
    z = 2.0 + 4.0 * torch.rand(n, 1, generator=g)
    xy = (torch.rand(n, 2, generator=g) - 0.5) * z * 0.9
    return {"means": torch.cat([xy, z], 1), "quats": torch.randn(n, 4, generator=g),
            "scales": torch.log(0.03 + 0.2 * torch.rand(n, 3, generator=g)),
            "opacities": 4 * torch.randn(n, generator=g), "sh0": torch.randn(n, 1, 3, generator=g),
            "shN": 0.3 * torch.randn(n, 3, 3, generator=g)}


def _run(rasterize, params: dict[str, torch.Tensor], viewmat, K, width: int, height: int,
         weights: torch.Tensor, device: str) -> dict[str, torch.Tensor]:
    leaves = {k: v.detach().to(device).requires_grad_(True) for k, v in params.items()}
    colors, alphas, info = rasterize(leaves, viewmat.to(device), K.to(device), width, height, 1)
    info["means2d"].retain_grad()
    ((colors[0] * weights.to(device)).sum() + alphas.sum()).backward()
    out = {"image": colors[0], "alpha": alphas[0, ..., 0], "means2d": info["means2d"].grad[0]}
    out.update({k: leaves[k].grad for k in KEYS})
    return {k: v.detach().double().cpu() for k, v in out.items()}


def compare(params: dict[str, torch.Tensor] | None = None) -> dict[str, float]:
    """Largest differences between the CPU and CUDA renders (gradients relative to their max)."""
    base, viewmat, K, width, height = few_splats()
    params = params or base
    weights = torch.rand(height, width, 3, generator=torch.Generator().manual_seed(1))
    cpu = _run(rasterize_cpu, params, viewmat, K, width, height, weights, "cpu")
    cuda = _run(rasterize_cuda, params, viewmat, K, width, height, weights, "cuda")
    diffs = {k: float((cpu[k] - cuda[k]).abs().max()) for k in ("image", "alpha")}
    for k in ("means2d",) + KEYS:
        diffs[f"grad {k}"] = float((cpu[k] - cuda[k]).abs().max() / cpu[k].abs().max().clamp_min(1e-9))
    return diffs


def failures(diffs: dict[str, float]) -> list[str]:
    """The entries beyond TOLERANCE."""
    return [f"{k}: {v:.2e}" for k, v in diffs.items()
            if v > TOLERANCE["gradients" if k.startswith("grad") else k]]


def main() -> int:
    """Compare on the few reference splats and on 400 random ones; exit 1 on a mismatch."""
    results = {"few": compare(), "random": compare(random_splats())}
    print(json.dumps(results, indent=2))
    bad = [f"{name} {f}" for name, diffs in results.items() for f in failures(diffs)]
    print("CPU/CUDA parity: " + ("OK" if not bad else "MISMATCH " + "; ".join(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
