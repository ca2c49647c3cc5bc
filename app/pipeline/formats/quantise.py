"""Small quantisation helpers shared by the compressed formats (SOG, .splat, .spz, compressed PLY)."""

from __future__ import annotations

import numpy as np

from .splats import SH_C0


def to_byte(values: np.ndarray) -> np.ndarray:
    """Round and clamp to 0..255 as uint8."""
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def normalised_quats(quats: np.ndarray) -> np.ndarray:
    """Unit quaternions (float64, same component order); zero-length ones become (1, 0, 0, 0)."""
    q = quats.astype(np.float64)
    norm = np.linalg.norm(q, axis=1, keepdims=True)
    return np.where(norm > 0, q / np.where(norm > 0, norm, 1), [1.0, 0.0, 0.0, 0.0])


def opacity_byte(logits: np.ndarray, top: int = 255) -> np.ndarray:
    """sigmoid(opacity logit) as a byte, at most `top` (254 where a reader's logit(1) is inf)."""
    return np.minimum(to_byte(255.0 / (1.0 + np.exp(-logits.astype(np.float64)))), top)


def opacity_logit(byte: np.ndarray) -> np.ndarray:
    """The logit a reader recovers from an opacity byte (clamped away from 0 and 1)."""
    a = np.clip(byte.astype(np.float64) / 255, 1e-6, 1 - 1e-6)
    return np.log(a / (1 - a)).astype(np.float32)


def colour_byte(sh0: np.ndarray) -> np.ndarray:
    """Base colour 0.5 + SH_C0 * f_dc as bytes."""
    return to_byte((0.5 + SH_C0 * sh0.astype(np.float64)) * 255)


def colour_dc(byte: np.ndarray) -> np.ndarray:
    """f_dc from colour bytes."""
    return ((byte.astype(np.float64) / 255 - 0.5) / SH_C0).astype(np.float32)
