"""Synthetic Gaussian scenes shaped like a drone capture (tests and bench/compress.py use them)."""

from __future__ import annotations

import numpy as np

from app.pipeline.formats.splats import Splats


def drone_scene(n: int, extent: float = 200.0, sh_degree: int = 3, seed: int = 0,
                offset: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> Splats:
    """n splats over an `extent`-metre square of rolling ground with buildings, trained-looking
    attributes (log-scales around -4, mostly opaque, colours from a few materials, SH from a
    few view-dependent looks plus noise)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(-extent / 2, extent / 2, (n, 2))
    ground = 3 * np.sin(xy[:, 0] / 17) * np.cos(xy[:, 1] / 23)
    building = (np.floor(xy[:, 0] / 20) + np.floor(xy[:, 1] / 20)) % 5 == 0
    z = ground + np.where(building, rng.uniform(0, 15, n), rng.normal(0, 0.2, n))
    means = np.column_stack([xy, z]) + np.asarray(offset)
    scales = rng.normal(-4.0, 0.7, (n, 3)) + rng.normal(0, 0.5, (n, 1))
    quats = rng.normal(size=(n, 4))
    opacities = rng.normal(2.0, 2.0, n)
    materials = rng.normal(0, 0.8, (12, 3))
    sh0 = materials[rng.integers(0, 12, n)] + rng.normal(0, 0.1, (n, 3))
    coeffs = (sh_degree + 1) ** 2 - 1
    looks = rng.normal(0, 0.15, (64, coeffs, 3))
    shN = looks[rng.integers(0, 64, n)] + rng.normal(0, 0.02, (n, coeffs, 3))
    f = np.float32
    return Splats(means.astype(f), scales.astype(f), quats.astype(f), opacities.astype(f),
                  sh0.astype(f), shN.astype(f))
