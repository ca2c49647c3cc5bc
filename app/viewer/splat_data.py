"""Splats prepared for drawing: 3D covariances computed once, most important splats first, and
the per-splat rows the splat visual uploads (no OpenGL here, so it runs in a worker thread).

Rows (three float32 vec4 per slot, gathered in draw order for each frame's list):
  t0 = (x, y, z, opacity)          t1 = (cov_xx, cov_xy, cov_xz, cov_yy)
  t2 = (cov_yz, cov_zz, rgb, reach) where rgb packs three bytes as r + 256 g + 65536 b (exact in
  a float32) and reach = sqrt(2 ln(255 opacity)), the Mahalanobis radius where the splat fades
  to 1/255, negative for a marked splat (floater highlight).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np

from app.pipeline.formats.splats import Splats

from .sh import sh_colours

CHUNK = 262_144
ProgressFn = Callable[[float, str], None]


@dataclass
class SplatArrays:
    """Per-slot data in importance order (largest opacity x volume first).

    `source` maps a slot to the splat's index in the model it came from.
    """

    xyz: np.ndarray  # (3, N) float32 positions, one row per axis (fast culling and sorting)
    cov: np.ndarray  # (N, 6) float32: xx, xy, xz, yy, yz, zz
    opacity: np.ndarray  # (N,) float32 in 0..1
    sh0: np.ndarray  # (N, 3) float32
    shN: np.ndarray  # (N, K, 3) float32
    source: np.ndarray  # (N,) int64
    scale_max: np.ndarray  # (N,) float32: largest standard deviation (world units)

    def __len__(self) -> int:
        return self.xyz.shape[1]

    @property
    def means(self) -> np.ndarray:
        """(N, 3) positions (a view of `xyz`)."""
        return self.xyz.T

    @property
    def view_dependent(self) -> bool:
        """True when the model has SH beyond degree 0."""
        return self.shN.shape[1] > 0

    @cached_property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Robust (1st..99th percentile) corners of the splat centres (computed by `prepare`)."""
        if len(self) == 0:
            return np.zeros(3), np.ones(3)
        sample = self.means[:: max(1, len(self) // 200_000)]
        return np.percentile(sample, 1, axis=0), np.percentile(sample, 99, axis=0)

    def colours(self, campos: np.ndarray | None = None) -> np.ndarray:
        """(N, 3) RGB seen from `campos` (SH degree 0 only when None)."""
        shN = self.shN if campos is not None else self.shN[:, :0]
        return sh_colours(self.sh0, shN, self.means, np.zeros(3) if campos is None else campos)


def importance_order(splats: Splats) -> np.ndarray:
    """Slots by decreasing opacity x volume (the budgeted subset takes a prefix)."""
    log_importance = np.sum(splats.scales.astype(np.float64), axis=1) + np.log(
        np.clip(splats.alpha().astype(np.float64), 1e-12, 1.0))
    return np.argsort(-log_importance, kind="stable")


def covariances(quats: np.ndarray, log_scales: np.ndarray) -> np.ndarray:
    """(N, 6) upper triangles of R S S R^T from (w, x, y, z) quaternions and log-scales."""
    q = quats.astype(np.float64)
    q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    w, x, y, z = q.T
    rot = np.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=1)
    rot = rot.reshape(-1, 3, 3)
    m = rot * np.exp(log_scales.astype(np.float64))[:, None, :]
    cov = np.einsum("nij,nkj->nik", m, m)
    return cov[:, [0, 0, 0, 1, 1, 2], [0, 1, 2, 1, 2, 2]].astype(np.float32)


def prepare(splats: Splats, progress: ProgressFn | None = None) -> SplatArrays:
    """Covariances, opacities and importance order of a model (seconds for millions: run it in
    a worker)."""
    progress = progress or (lambda f, m: None)
    order = importance_order(splats)
    n = len(order)
    cov = np.empty((n, 6), np.float32)
    for a in range(0, n, CHUNK):
        idx = order[a:a + CHUNK]
        cov[a:a + len(idx)] = covariances(splats.quats[idx], splats.scales[idx])
        progress(min(1.0, (a + len(idx)) / max(n, 1)), "preparing splats for drawing")
    arrays = SplatArrays(
        xyz=np.ascontiguousarray(splats.means[order].T, np.float32), cov=cov,
        opacity=splats.alpha()[order].astype(np.float32),
        sh0=np.ascontiguousarray(splats.sh0[order], np.float32),
        shN=np.ascontiguousarray(splats.shN[order], np.float32), source=order,
        scale_max=np.exp(splats.scales[order].max(axis=1)).astype(np.float32))
    arrays.bounds  # noqa: B018 - computed here, in the worker, not on the UI thread
    return arrays


def pack_colours(rgb: np.ndarray) -> np.ndarray:
    """(N,) float32 holding r + 256 g + 65536 b of the byte colours (exact in float32)."""
    b = np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint32)
    return (b[:, 0] + (b[:, 1] << 8) + (b[:, 2] << 16)).astype(np.float32)


def reach(opacity: np.ndarray) -> np.ndarray:
    """Mahalanobis radius where opacity x Gaussian falls to 1/255 (0 for fainter splats)."""
    return np.sqrt(2 * np.log(np.maximum(opacity.astype(np.float64) * 255.0, 1.0))).astype(
        np.float32)


def rows(arrays: SplatArrays, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three (N, 4) float32 row tables of the module docstring."""
    n = len(arrays)
    t0, t1, t2 = (np.empty((n, 4), np.float32) for _ in range(3))
    t0[:, :3], t0[:, 3] = arrays.means, arrays.opacity
    t1[:] = arrays.cov[:, :4]
    t2[:, :2] = arrays.cov[:, 4:]
    t2[:, 2] = pack_colours(rgb)
    t2[:, 3] = reach(arrays.opacity)
    return t0, t1, t2
