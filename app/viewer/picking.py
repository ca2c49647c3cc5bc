"""Where a ray meets the splats: the expected depth of the Gaussians it crosses, composited front
to back as the renderer blends them (CPU; run it off the UI thread for big models)."""

from __future__ import annotations

import numpy as np

from .splat_data import SplatArrays

ALPHA_MIN, ALPHA_MAX, T_MIN = 1.0 / 255.0, 0.999, 1e-4  # the renderer's thresholds
REACH_SIGMA = 3.4  # splats whose centre is farther from the ray than this many sigma are skipped
MIN_WEIGHT = 0.05  # less accumulated opacity than this is "nothing under the cursor"


def ray_hits(arrays: SplatArrays, origin: np.ndarray, direction: np.ndarray,
             crop: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(t, alpha) per splat the ray crosses, nearest first: t is where the Gaussian peaks along
    the ray, alpha = min(0.999, opacity x that peak)."""
    o = np.asarray(origin, np.float64)
    d = np.asarray(direction, np.float64)
    d = d / np.linalg.norm(d)
    x, y, z = arrays.xyz
    vx, vy, vz = x - o[0], y - o[1], z - o[2]
    along = vx * d[0] + vy * d[1] + vz * d[2]
    perp2 = vx * vx + vy * vy + vz * vz - along * along
    near = (along > 0) & (perp2 < (REACH_SIGMA * arrays.scale_max.astype(np.float64)) ** 2)
    if crop is not None:
        near &= np.all((arrays.means >= crop[0]) & (arrays.means <= crop[1]), axis=1)
    ids = np.flatnonzero(near)
    if len(ids) == 0:
        return np.zeros(0), np.zeros(0)
    c = arrays.cov[ids].astype(np.float64)
    cov = np.stack([c[:, [0, 1, 2]], c[:, [1, 3, 4]], c[:, [2, 4, 5]]], axis=1)
    cov += np.eye(3) * (1e-12 + 1e-9 * np.trace(cov, axis1=1, axis2=2))[:, None, None]
    inv = np.linalg.inv(cov)
    mu = np.stack([vx[ids], vy[ids], vz[ids]], axis=1)  # centres relative to the origin
    inv_d = inv @ d
    t = np.einsum("ni,ni->n", mu, inv_d) / np.einsum("ni,i->n", inv_d, d)
    off = mu - t[:, None] * d
    power = -0.5 * np.einsum("ni,nij,nj->n", off, inv, off)
    alpha = np.minimum(ALPHA_MAX, arrays.opacity[ids] * np.exp(power))
    keep = (t > 0) & (alpha >= ALPHA_MIN)
    t, alpha = t[keep], alpha[keep]
    order = np.argsort(t)
    return t[order], alpha[order]


def pick(arrays: SplatArrays, origin: np.ndarray, direction: np.ndarray,
         crop: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray | None:
    """The world point at the expected depth (sum of alpha_i T_i t_i / sum of alpha_i T_i) of
    the composited splats along the ray, or None when the ray meets (almost) nothing."""
    t, alpha = ray_hits(arrays, origin, direction, crop)
    if len(t) == 0:
        return None
    before = np.concatenate([[1.0], np.cumprod(1.0 - alpha)[:-1]])  # transmittance T_i
    weight = alpha * before * (before > T_MIN)
    if weight.sum() < MIN_WEIGHT:
        return None
    depth = float(np.sum(weight * t) / weight.sum())
    d = np.asarray(direction, np.float64)
    return np.asarray(origin, np.float64) + depth * d / np.linalg.norm(d)
