"""Smooth random fields for the synthetic scene: value noise and its multi-octave sum.

Hand-written (a few lines over Pillow's bicubic resize) because no installed library makes
seeded, non-periodic fractal noise; every field comes from the caller's numpy Generator.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def value_noise(rng: np.random.Generator, shape: tuple[int, int], cell_px: float) -> np.ndarray:
    """A (rows, cols) float32 field in about [0, 1] with features `cell_px` pixels across."""
    rows, cols = shape
    if cell_px <= 1.0:
        return rng.random(shape, dtype=np.float32)
    gh, gw = max(2, int(rows / cell_px) + 2), max(2, int(cols / cell_px) + 2)
    grid = rng.integers(0, 256, (gh, gw), dtype=np.uint8)
    field = np.asarray(Image.fromarray(grid).resize((cols, rows), Image.BICUBIC), np.float32)
    return field * np.float32(1.0 / 255.0)


def fractal(rng: np.random.Generator, shape: tuple[int, int], octaves: list[tuple[float, float]]
            ) -> np.ndarray:
    """Sum of value-noise octaves given as (feature size in pixels, amplitude), centred on 0."""
    out = np.zeros(shape, np.float32)
    for cell_px, amplitude in octaves:
        out += (value_noise(rng, shape, cell_px) - np.float32(0.5)) * np.float32(amplitude)
    return out
