"""PlayCanvas SOG v2 encodings of each attribute, as splat-transform 2.7.1 and the engine read them.

Encoders return per-splat RGBA rows (N x 4 uint8) in the given order; decoders invert them.
The encoders round to the nearest code where splat-transform truncates: same format, half the
quantisation error.
"""

from __future__ import annotations

import numpy as np

from ..formats.quantise import normalised_quats, to_byte

SQRT2 = np.sqrt(2.0)
SH_COEFFS = {1: 3, 2: 8, 3: 15}
PALETTE_ROW = 64  # centroids per row of shN_centroids.webp


def log_transform(x: np.ndarray) -> np.ndarray:
    """sign(x) * ln(1 + |x|), the space SOG stores positions in."""
    return np.sign(x) * np.log1p(np.abs(x))


def inverse_log_transform(v: np.ndarray) -> np.ndarray:
    """sign(v) * (exp(|v|) - 1)."""
    return np.sign(v) * np.expm1(np.abs(v))


def encode_means(means: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[float], list[float]]:
    """(means_l rows, means_u rows, mins, maxs) of 16-bit log-space positions."""
    logs = log_transform(means.astype(np.float64))
    mins, maxs = logs.min(axis=0), logs.max(axis=0)
    span = np.where(maxs > mins, maxs - mins, 1.0)
    q = np.clip(np.rint(65535 * (logs - mins) / span), 0, 65535).astype(np.uint32)
    low = np.empty((len(means), 4), np.uint8)
    high = np.empty((len(means), 4), np.uint8)
    low[:, :3], low[:, 3] = q & 0xFF, 255
    high[:, :3], high[:, 3] = q >> 8, 255
    return low, high, mins.tolist(), maxs.tolist()


def decode_means(low: np.ndarray, high: np.ndarray, mins, maxs) -> np.ndarray:
    """Positions from the means_l/means_u rows and the meta's mins/maxs."""
    q = low[:, :3].astype(np.float64) + 256.0 * high[:, :3]
    mins, maxs = np.asarray(mins, np.float64), np.asarray(maxs, np.float64)
    span = np.where(maxs - mins != 0, maxs - mins, 1.0)
    return inverse_log_transform(mins + span * q / 65535).astype(np.float32)


def encode_quats(quats: np.ndarray) -> np.ndarray:
    """Smallest-three rows: the three other components scaled by sqrt(2), A = 252 + dropped index."""
    q = normalised_quats(quats)
    largest = np.argmax(np.abs(q), axis=1)
    q *= np.where(q[np.arange(len(q)), largest] < 0, -1.0, 1.0)[:, None]
    keep = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])[largest]
    others = np.take_along_axis(q, keep, axis=1)
    rows = np.empty((len(q), 4), np.uint8)
    rows[:, :3] = to_byte(255 * (others * SQRT2 * 0.5 + 0.5))
    rows[:, 3] = 252 + largest
    return rows


def decode_quats(rows: np.ndarray) -> np.ndarray:
    """(w, x, y, z) unit quaternions from smallest-three rows (bad tags give the identity)."""
    tag = rows[:, 3].astype(np.int64)
    valid = (tag >= 252) & (tag <= 255)
    largest = np.clip(tag - 252, 0, 3)
    others = (rows[:, :3].astype(np.float64) / 255 * 2 - 1) / SQRT2
    big = np.sqrt(np.maximum(0.0, 1 - np.sum(others * others, axis=1)))
    q = np.empty((len(rows), 4))
    keep = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])[largest]
    np.put_along_axis(q, keep, others, axis=1)
    q[np.arange(len(q)), largest] = big
    q[~valid] = [1.0, 0.0, 0.0, 0.0]
    return q.astype(np.float32)


def index_rows(indices: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    """RGBA rows from N x 3 codebook indices and an alpha column (255 when None)."""
    rows = np.empty((len(indices), 4), np.uint8)
    rows[:, :3] = indices
    rows[:, 3] = 255 if alpha is None else alpha
    return rows


def palette_image(indices: np.ndarray, coeffs: int) -> np.ndarray:
    """shN_centroids image from (K, 3*C) channel-major codebook indices: (ceil(K/64), 64*C, 4)."""
    k = len(indices)
    rows = -(-k // PALETTE_ROW)
    image = np.zeros((rows * PALETTE_ROW, coeffs, 4), np.uint8)
    image[:k, :, :3] = indices.reshape(k, 3, coeffs).transpose(0, 2, 1)
    image[:k, :, 3] = 255
    return image.reshape(rows, PALETTE_ROW * coeffs, 4)


def palette_from_image(image: np.ndarray, coeffs: int, count: int) -> np.ndarray:
    """(count, 3*C) channel-major codebook indices from the shN_centroids image."""
    cells = image[:, :, :3].reshape(-1, coeffs, 3)[:count]
    return cells.transpose(0, 2, 1).reshape(count, 3 * coeffs)


def label_rows(labels: np.ndarray) -> np.ndarray:
    """shN_labels rows: R = label & 255, G = label >> 8."""
    rows = np.zeros((len(labels), 4), np.uint8)
    rows[:, 0], rows[:, 1], rows[:, 3] = labels & 0xFF, labels >> 8, 255
    return rows
