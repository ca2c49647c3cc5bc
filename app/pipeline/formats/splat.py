"""The antimatter15 `.splat` format: 32 bytes per splat, no SH, most important splats first.

Per splat: position 3 x float32, linear scale 3 x float32, RGBA bytes (base colour, sigmoid
opacity), rotation 4 bytes (w, x, y, z) mapped from [-1, 1] to 0..255.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import atomic
from ..errors import InputError
from .quantise import colour_byte, colour_dc, normalised_quats, opacity_byte, opacity_logit, to_byte
from .splats import Splats

RECORD = np.dtype([("position", "<f4", 3), ("scale", "<f4", 3), ("rgba", "u1", 4),
                   ("rot", "u1", 4)])


def importance_order(splats: Splats) -> np.ndarray:
    """Largest, most opaque splats first (what progressive .splat viewers expect)."""
    volume = np.sum(splats.scales.astype(np.float64), axis=1)
    return np.argsort(-(volume + np.log(np.clip(splats.alpha(), 1e-12, 1))), kind="stable")


def encode_splat(splats: Splats) -> tuple[bytes, np.ndarray]:
    """(.splat bytes, order: file row -> input index)."""
    order = importance_order(splats)
    s = splats.subset(order)
    rec = np.empty(len(s), RECORD)
    rec["position"] = s.means
    rec["scale"] = np.exp(np.clip(s.scales, -30, 30))
    rec["rgba"][:, :3] = colour_byte(s.sh0)
    rec["rgba"][:, 3] = opacity_byte(s.opacities)
    rec["rot"] = to_byte((normalised_quats(s.quats) + 1) * 127.5)
    return rec.tobytes(), order


def write_splat(path: Path, splats: Splats) -> np.ndarray:
    """Write a .splat atomically; returns the order used."""
    data, order = encode_splat(splats)
    atomic.write_bytes(Path(path), data)
    return order


def read_splat(path: Path) -> Splats:
    """Decode a .splat as viewers do (SH degree 0)."""
    path = Path(path)
    data = path.read_bytes()
    if len(data) % RECORD.itemsize:
        raise InputError(f"{path} is {len(data)} bytes, not a whole number of 32-byte splats",
                         hint="the file is truncated or not a .splat; re-export it", path=path)
    rec = np.frombuffer(data, RECORD)
    q = rec["rot"].astype(np.float64) / 255 * 2 - 1
    n = len(rec)
    with np.errstate(divide="ignore"):
        scales = np.log(rec["scale"]).astype(np.float32)
    return Splats(rec["position"].astype(np.float32), scales,
                  normalised_quats(q).astype(np.float32), opacity_logit(rec["rgba"][:, 3]),
                  colour_dc(rec["rgba"][:, :3]), np.zeros((n, 0, 3), np.float32))
