"""SOG textures: the per-splat W x H layout and lossless RGBA WebP through Pillow."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image


def texture_size(count: int) -> tuple[int, int]:
    """(width, height) of a per-splat texture: W = 4*ceil(sqrt(N)/4), H = 4*ceil(N/W/4)."""
    width = max(4, 4 * math.ceil(math.sqrt(count) / 4))
    height = max(4, 4 * math.ceil(count / width / 4))
    return width, height


def layout(rows: np.ndarray, width: int, height: int) -> np.ndarray:
    """Place N x 4 uint8 rows as a height x width x 4 image (splat i at (i % W, i // W), zero pad)."""
    image = np.zeros((width * height, 4), np.uint8)
    image[: len(rows)] = rows
    return image.reshape(height, width, 4)


def encode_webp(image: np.ndarray, method: int = 4, quality: int = 70) -> bytes:
    """Lossless RGBA WebP that keeps the RGB of fully transparent pixels (exact=True)."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image), "RGBA").save(
        buf, "WEBP", lossless=True, exact=True, method=method, quality=quality)
    return buf.getvalue()


def decode_webp(data: bytes) -> np.ndarray:
    """Decode a WebP to a height x width x 4 uint8 array."""
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGBA"))
