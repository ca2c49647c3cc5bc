"""Robust similarity (scale, rotation, translation) from model camera centres to GPS positions,
with horizontal and vertical GPS errors weighted apart, and the vertical taken from the model
when the GPS heights are not to be trusted.

Hand-written because pycolmap's aligners are isotropic 3D RANSAC: they can neither weight a
GPS whose altitude is five times noisier than its position nor leave the altitude out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation

INLIER_SIGMAS = 4.0  # a GPS fix further than this many sigmas (2D) from its camera is an outlier
MIN_RADIUS_SIGMAS = 2.0  # never call a fix an outlier closer than this many assessed sigmas
RANSAC_PAIRS = 400  # minimal samples tried (every pair when there are fewer)
REFINE_ROUNDS = 3


@dataclass(frozen=True)
class Similarity:
    """x_target = scale * R @ x_model + t."""

    scale: float
    R: np.ndarray  # (3, 3)
    t: np.ndarray  # (3,)

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Map (N, 3) model points into the target frame."""
        return self.scale * points @ self.R.T + self.t


@dataclass(frozen=True)
class Fit:
    """A fitted similarity, which GPS fixes it trusted, and the residuals (target - mapped)."""

    sim: Similarity
    inliers: np.ndarray  # (N,) bool
    residuals: np.ndarray  # (N, 3); z is nan where no height target was used
    threshold_m: float  # final horizontal inlier radius


def level_rotation(up: np.ndarray) -> np.ndarray:
    """The rotation taking the unit vector `up` onto +z (the smallest such rotation)."""
    up = up / np.linalg.norm(up)
    axis = np.cross(up, [0.0, 0.0, 1.0])
    sin, cos = np.linalg.norm(axis), float(up[2])
    if sin < 1e-12:
        return np.eye(3) if cos > 0 else np.diag([1.0, -1.0, -1.0])
    return Rotation.from_rotvec(axis / sin * np.arctan2(sin, cos)).as_matrix()


def fit(model: np.ndarray, target_xy: np.ndarray, target_z: np.ndarray | None,
        sigma_h: float, sigma_v: float | None, up: np.ndarray, seed: int = 0) -> Fit | None:
    """Fit model centres (N, 3) to GPS: horizontally by RANSAC on a levelled model, then,
    when `sigma_v` is given, refined in 3D with heights weighted by sigma_v (tilt from the
    heights); else the model's own `up` stays vertical and heights only place it (median).
    None when fewer than 3 positions are usable or the horizontal fit is degenerate."""
    if len(model) < 3:
        return None
    level = level_rotation(up)
    flat = model @ level.T
    two_d = _robust_2d(flat[:, :2], target_xy, sigma_h, seed)
    if two_d is None:
        return None
    (scale, yaw, t_xy), inliers, threshold = two_d
    R = Rotation.from_euler("z", yaw).as_matrix() @ level
    z = target_z if target_z is not None else np.full(len(model), np.nan)
    has_z = np.isfinite(z)
    mapped_z = scale * (model @ R.T)[:, 2]
    t_z = float(np.median(z[has_z] - mapped_z[has_z])) if has_z.any() else 0.0
    sim = Similarity(scale, R, np.array([*t_xy, t_z]))
    if sigma_v is not None and (has_z & inliers).sum() >= 3:
        sim = _refine_3d(sim, model[inliers & has_z], np.c_[target_xy, z][inliers & has_z],
                         sigma_h, sigma_v)
    residuals = np.c_[target_xy, z] - sim.apply(model)
    if sigma_v is None:
        residuals[:, 2] = np.where(has_z, residuals[:, 2], np.nan)
    return Fit(sim, inliers, residuals, threshold)


def _robust_2d(src: np.ndarray, dst: np.ndarray, sigma: float, seed: int
               ) -> tuple[tuple[float, float, np.ndarray], np.ndarray, float] | None:
    """(scale, yaw, translation) of dst = s Rz(yaw) src + t by 2-point RANSAC, then least
    squares on the inliers with the inlier radius re-read from the residuals' own spread."""
    a, b = src[:, 0] + 1j * src[:, 1], dst[:, 0] + 1j * dst[:, 1]
    threshold = INLIER_SIGMAS * sigma
    best = None
    for i, j in _pairs(len(a), seed):
        if abs(a[j] - a[i]) < 1e-9:
            continue
        m = (b[j] - b[i]) / (a[j] - a[i])
        residual = np.abs(b - (m * a + b[i] - m * a[i]))
        cost = float(np.minimum(residual, threshold) @ np.minimum(residual, threshold))  # MSAC
        if best is None or cost < best[0]:
            best = (cost, m, b[i] - m * a[i])
    if best is None:
        return None
    m, c = best[1], best[2]
    inliers = np.abs(b - (m * a + c)) < threshold
    for _ in range(REFINE_ROUNDS):
        if inliers.sum() < 2:
            return None
        m, c = _least_squares_2d(a[inliers], b[inliers])
        residual = np.abs(b - (m * a + c))
        spread = float(np.median(residual)) / np.sqrt(np.log(4.0))  # per-axis sigma (Rayleigh)
        threshold = max(INLIER_SIGMAS * spread, MIN_RADIUS_SIGMAS * sigma)
        inliers = residual < threshold
    if inliers.sum() < 2 or abs(m) < 1e-12:
        return None
    return (abs(m), float(np.angle(m)), np.array([c.real, c.imag])), inliers, threshold


def _least_squares_2d(a: np.ndarray, b: np.ndarray) -> tuple[complex, complex]:
    """b = m a + c in the least-squares sense (the 2D similarity as complex numbers)."""
    ac, bc = a - a.mean(), b - b.mean()
    m = complex(np.vdot(ac, bc) / np.vdot(ac, ac).real)
    return m, complex(b.mean() - m * a.mean())


def _pairs(n: int, seed: int) -> list[tuple[int, int]]:
    if n * (n - 1) // 2 <= RANSAC_PAIRS:
        return [(i, j) for i in range(n) for j in range(i + 1, n)]
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, (RANSAC_PAIRS, 2))
    return [(int(i), int(j)) for i, j in picks if i != j]


def _refine_3d(sim: Similarity, model: np.ndarray, target: np.ndarray, sigma_h: float,
               sigma_v: float) -> Similarity:
    """Least squares over scale, rotation and translation with per-axis weights; a soft loss
    so that a stray height does not tilt the model."""
    weights = np.array([1.0 / sigma_h, 1.0 / sigma_h, 1.0 / sigma_v])
    start = np.r_[np.log(sim.scale), Rotation.from_matrix(sim.R).as_rotvec(), sim.t]

    def unpack(p: np.ndarray) -> Similarity:
        return Similarity(float(np.exp(p[0])), Rotation.from_rotvec(p[1:4]).as_matrix(), p[4:])

    def residual(p: np.ndarray) -> np.ndarray:
        return ((target - unpack(p).apply(model)) * weights).ravel()

    return unpack(least_squares(residual, start, loss="soft_l1", f_scale=2.0).x)
