"""256-entry scalar codebooks fitted as splat-transform 2.7.1 fits them (quantize-1d).

A 1024-bin histogram blending uniform and quantile bin edges, then a dynamic program that
minimises the squared error with weights count**alpha. A plain Lloyd fit leaves the sparse
tails (large log-scales) with errors ~25x worse; the DP keeps them in check.
"""

from __future__ import annotations

import numpy as np

CODEBOOK_SIZE = 256
HISTOGRAM_BINS = 1024


def fit_codebook(values: np.ndarray, k: int = CODEBOOK_SIZE, alpha: float = 0.5,
                 bins: int = HISTOGRAM_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Fit `k` sorted float32 centroids to `values` (any shape); return (centroids, uint8 labels)."""
    flat = np.asarray(values, dtype=np.float32).ravel()
    if flat.size == 0:
        return np.zeros(k, np.float32), np.zeros(values.shape, np.uint8)
    ordered = np.sort(flat)
    vmin, vmax = float(ordered[0]), float(ordered[-1])
    if vmax - vmin < 1e-20:
        return np.full(k, vmin, np.float32), np.zeros(values.shape, np.uint8)
    centers, weights = _histogram(ordered, min(bins, flat.size), alpha)
    centroids = _optimal_partition(centers, weights, k)
    return centroids, assign(flat, centroids).reshape(values.shape)


def assign(values: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest sorted centroid for each value (uint8)."""
    mids = (centroids[:-1].astype(np.float64) + centroids[1:]) * 0.5
    return np.searchsorted(mids, np.asarray(values, np.float64), side="right").astype(np.uint8)


def _histogram(ordered: np.ndarray, h: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    n = ordered.size
    vmin, vrange = float(ordered[0]), float(ordered[-1] - ordered[0])
    iqr = float(ordered[int(n * 0.75)] - ordered[int(n * 0.25)])
    beta = max(0.5, min(0.999, 1.0 - iqr / vrange))
    pos = beta * (np.arange(n) / n) + (1.0 - beta) * ((ordered - vmin) / vrange)
    bin_of = np.minimum(h - 1, np.floor(h * pos).astype(np.int64))
    counts = np.bincount(bin_of, minlength=h).astype(np.float64)
    sums = np.bincount(bin_of, weights=ordered.astype(np.float64), minlength=h)
    empty_centres = vmin + (np.arange(h) + 0.5) / h * vrange
    centers = np.where(counts > 0, sums / np.maximum(counts, 1), empty_centres)
    return centers, np.where(counts > 0, counts ** alpha, 0.0)


def _optimal_partition(centers: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """Split the bins into contiguous groups minimising weighted SSE (vectorised DP over splits)."""
    h = centers.size
    pw = np.concatenate([[0.0], np.cumsum(weights)])
    pwx = np.concatenate([[0.0], np.cumsum(weights * centers)])
    pwxx = np.concatenate([[0.0], np.cumsum(weights * centers * centers)])
    a = np.arange(h)[:, None]  # group start
    b = np.arange(h)[None, :]  # group end (inclusive)
    w = pw[b + 1] - pw[a]
    wx = pwx[b + 1] - pwx[a]
    with np.errstate(divide="ignore", invalid="ignore"):
        cost = np.where(w > 0, (pwxx[b + 1] - pwxx[a]) - wx * wx / np.where(w > 0, w, 1), 0.0)
    cost = np.where(b >= a, cost, np.inf)  # cost[a, b] of one group a..b
    # tail[j, s]: cost of the group s+1..j; float32 and contiguous in s for a fast argmin
    tail = np.ascontiguousarray(cost[1:, :].T, dtype=np.float32)
    groups = min(k, int(np.count_nonzero(weights)))
    dp = cost[0].astype(np.float32)  # dp[j]: best cost of bins 0..j in m groups
    splits = []
    rows = np.arange(h)
    for m in range(2, groups + 1):
        # candidate split s: bins 0..s in m-1 groups, s+1..j in one group
        total = dp[None, :-1] + tail
        best = np.argmin(total, axis=1)
        dp = total[rows, best]
        dp[: m - 1] = np.inf  # j < m-1 cannot hold m groups
        splits.append(best)
    values = np.empty(groups, np.float64)
    j = h - 1
    for m in range(groups, 0, -1):
        s = int(splits[m - 2][j]) if m > 1 else -1
        wsum = pw[j + 1] - pw[s + 1]
        values[m - 1] = ((pwx[j + 1] - pwx[s + 1]) / wsum if wsum > 0
                         else (centers[s + 1] + centers[j]) * 0.5)
        j = s
    values = np.sort(values.astype(np.float32))
    return np.concatenate([values, np.full(k - groups, values[-1], np.float32)])
