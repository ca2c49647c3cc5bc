"""The quality report of an export: sizes, and per-attribute round-trip errors of the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..formats.splats import Splats

VISIBLE_ALPHA = 1.0 / 255  # colour errors of splats below this opacity are invisible


def _stats(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {"mean": 0.0, "p99": 0.0, "max": 0.0}
    return {"mean": float(np.mean(values)), "p99": float(np.percentile(values, 99)),
            "max": float(np.max(values))}


def rotation_error_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle in degrees between the rotations of two (w, x, y, z) quaternion arrays."""
    ua = a.astype(np.float64) / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    ub = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    ub = ub * np.where(np.sum(ua.astype(np.float64) * ub, axis=1) < 0, -1.0, 1.0)[:, None]
    diff, total = np.linalg.norm(ua - ub, axis=1), np.linalg.norm(ua + ub, axis=1)
    return np.degrees(4 * np.arctan2(diff, total))  # stable near 0, unlike 2*acos(dot)


def roundtrip_errors(source: Splats, decoded: Splats) -> dict[str, dict[str, float]]:
    """Per-attribute errors of `decoded` against `source` (same order, same count)."""
    visible = source.alpha() >= VISIBLE_ALPHA
    errors = {
        "position_mm": _stats(1000 * np.linalg.norm(
            decoded.means.astype(np.float64) - source.means, axis=1)),
        "rotation_deg": _stats(rotation_error_deg(source.quats, decoded.quats)),
        "colour": _stats(np.abs(decoded.rgb() - source.rgb())[visible].ravel()),
        "opacity": _stats(np.abs(decoded.alpha() - source.alpha())),
        "log_scale": _stats(np.abs(decoded.scales - source.scales).ravel()),
    }
    k = min(source.shN.shape[1], decoded.shN.shape[1])
    if k:
        errors["sh_rest"] = _stats(np.abs(decoded.shN[:, :k] - source.shN[:, :k]).ravel())
    return errors


def output_bytes(paths: list[Path]) -> int:
    """Total size of the written files."""
    return int(sum(Path(p).stat().st_size for p in paths))
