"""The higher-order SH palette: k-means over the f_rest vectors on the CPU with faiss."""

from __future__ import annotations

import os

import numpy as np

from ..errors import InputError

MAX_AUTO_PALETTE = 1024  # auto size cap: ~10 s of k-means for 1M splats on 2 cores


def palette_size(count: int, requested: int | None) -> int:
    """Palette entries for `count` splats: the setting, or a power of two near count/16 (capped)."""
    if requested is not None:
        if requested < 1 or requested > 65536:
            raise InputError(f"compress.sh_palette_size must be 1..65536, not {requested}",
                             hint="set compress.sh_palette_size to e.g. 2048, or to none (automatic)")
        return min(requested, count)
    auto = 2 ** int(np.floor(np.log2(max(count / 16, 1))))
    return int(min(MAX_AUTO_PALETTE, max(min(count, 16), auto)))


def fit_palette(vectors: np.ndarray, k: int, iterations: int = 10, per_centroid: int = 64,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """k-means of (N, D) vectors: (k, D) float32 centroids and (N,) int32 labels.

    Training uses at most `per_centroid` points per centroid (a random subsample); every
    vector is then assigned to its nearest centroid exactly.
    """
    # OpenMP threads spin-wait by default; on a busy 2-core machine that tripled k-means time
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import faiss

    data = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = data.shape
    k = max(1, min(k, n))
    if k == n:  # as many entries as vectors: the palette is the data
        return data.copy(), np.arange(n, dtype=np.int32)
    km = faiss.Kmeans(dim, k, niter=iterations, seed=seed, verbose=False,
                      max_points_per_centroid=per_centroid, min_points_per_centroid=1)
    km.train(data)
    _, labels = km.index.search(data, 1)
    return km.centroids.astype(np.float32), labels[:, 0].astype(np.int32)
