"""Niantic `.spz` version 3, written from the public reference (nianticlabs/spz load-spz.cc).

A gzip stream of: a 16-byte header (magic "NGSP", version, count, SH degree, fractional bits,
flags, reserved), then per attribute for all splats: 24-bit fixed-point positions, opacity bytes,
colour bytes (f_dc * 0.15 * 255 + 127.5), log-scale bytes ((s + 10) * 16), smallest-three
quaternions in 32 bits (x, y, z, w order), SH bytes (coefficient-major, RGB inner, x*128+128 in
5-bit buckets for band 1 and 4-bit buckets beyond). Stored in the RUB frame: the PLY's RDF
y and z axes are flipped (positions, quaternions and the odd SH basis functions).
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from .. import atomic
from ..errors import InputError
from .quantise import normalised_quats, opacity_byte, opacity_logit, to_byte
from .splats import Splats

MAGIC = 0x5053474E
VERSION = 3
HEADER = struct.Struct("<IIIBBBB")
COLOUR_SCALE = 0.15
SQRT1_2 = np.sqrt(0.5)
FLIP_P = np.array([1.0, -1.0, -1.0])  # RDF (PLY) <-> RUB (spz)
FLIP_Q = np.array([1.0, -1.0, -1.0])  # on (x, y, z) of the quaternion
FLIP_SH = np.array([-1, -1, 1, -1, 1, 1, -1, 1, -1, 1, -1, -1, 1, -1, 1], np.float64)
DEGREE_COEFFS = {0: 0, 1: 3, 2: 8, 3: 15}
OPAQUE = 254  # the reference reader turns 255 into an infinite logit (and drops the splat)


def _fractional_bits(means: np.ndarray) -> int:
    """12 bits (0.25 mm) unless the scene is too wide for 24-bit fixed point."""
    extent = float(np.abs(means).max()) if len(means) else 0.0
    bits = 12
    while bits > 0 and extent * (1 << bits) >= (1 << 23) - 1:
        bits -= 1
    if extent * (1 << bits) >= (1 << 23) - 1:
        raise InputError(f"positions reach {extent:.0f} m, beyond what .spz can hold (24-bit fixed point, 8388 km)",
                         hint="crop the scene (the export crop box) or centre it before exporting to .spz")
    return bits


def encode_spz(splats: Splats) -> bytes:
    """The gzip-compressed .spz v3 bytes of `splats`."""
    n, degree = len(splats), splats.sh_degree
    bits = _fractional_bits(splats.means)
    fixed = np.rint(splats.means.astype(np.float64) * FLIP_P * (1 << bits)).astype(np.int64)
    positions = np.stack([(fixed >> s) & 0xFF for s in (0, 8, 16)], axis=-1).astype(np.uint8)
    colours = to_byte(splats.sh0.astype(np.float64) * (COLOUR_SCALE * 255) + 127.5)
    scales = to_byte((splats.scales.astype(np.float64) + 10) * 16)
    coeffs = DEGREE_COEFFS[degree]
    sh = splats.shN.astype(np.float64) * FLIP_SH[:coeffs, None] * 128 + 128
    bucket = np.where(np.arange(coeffs) < 3, 8, 16)[None, :, None]
    sh = np.clip((np.rint(sh).astype(np.int64) + bucket // 2) // bucket * bucket, 0, 255)
    body = b"".join([
        HEADER.pack(MAGIC, VERSION, n, degree, bits, 0, 0), positions.tobytes(),
        opacity_byte(splats.opacities, OPAQUE).tobytes(), colours.tobytes(), scales.tobytes(),
        _pack_quats(splats.quats).tobytes(), sh.astype(np.uint8).tobytes()])
    return gzip.compress(body, compresslevel=6)


def _pack_quats(quats: np.ndarray) -> np.ndarray:
    wxyz = normalised_quats(quats)
    q = np.concatenate([wxyz[:, 1:] * FLIP_Q, wxyz[:, :1]], axis=1)  # x, y, z, w
    largest = np.argmax(np.abs(q), axis=1)
    negate = q[np.arange(len(q)), largest] < 0
    comp = largest.astype(np.uint32)
    for i in range(4):
        use = largest != i
        neg = ((q[:, i] < 0) ^ negate).astype(np.uint32)
        mag = np.floor(511 * np.abs(q[:, i]) / SQRT1_2 + 0.5).astype(np.uint32)
        comp = np.where(use, (comp << np.uint32(10)) | (neg << np.uint32(9)) | mag, comp)
    return comp.astype("<u4").view(np.uint8).reshape(-1, 4)


def _unpack_quats(raw: np.ndarray) -> np.ndarray:
    comp = raw.reshape(-1, 4).copy().view("<u4")[:, 0].astype(np.int64)
    largest = comp >> 30
    q = np.zeros((len(comp), 4))
    for i in range(3, -1, -1):
        use = largest != i
        mag, neg = comp & 511, (comp >> 9) & 1
        q[:, i] = np.where(use, SQRT1_2 * mag / 511 * np.where(neg == 1, -1, 1), 0.0)
        comp = np.where(use, comp >> 10, comp)
    q[np.arange(len(q)), largest] = np.sqrt(np.maximum(0, 1 - np.sum(q * q, axis=1)))
    q[:, :3] *= FLIP_Q
    return np.concatenate([q[:, 3:], q[:, :3]], axis=1).astype(np.float32)  # w, x, y, z


def write_spz(path: Path, splats: Splats) -> None:
    """Write a .spz atomically."""
    atomic.write_bytes(Path(path), encode_spz(splats))


def read_spz(path: Path) -> Splats:
    """Decode a .spz (versions 2 and 3) back to PLY-frame splats."""
    path = Path(path)
    try:
        data = gzip.decompress(path.read_bytes())
        magic, version, n, degree, bits, _flags, _ = HEADER.unpack_from(data)
    except (OSError, EOFError, struct.error) as exc:
        raise InputError(f"{path} is not a gzip'd .spz: {exc}", path=path,
                         hint="export it again from its project as .spz") from exc
    if magic != MAGIC or version not in (2, 3) or degree > 3:
        raise InputError(f"{path}: unsupported .spz (magic {magic:#x}, version {version}, "
                         f"SH degree {degree})", hint="only .spz versions 2-3, SH 0-3 are read",
                         path=path)
    coeffs, rot_bytes = DEGREE_COEFFS[degree], 4 if version >= 3 else 3
    sizes = [9 * n, n, 3 * n, 3 * n, rot_bytes * n, 3 * coeffs * n]
    if len(data) < HEADER.size + sum(sizes):
        raise InputError(f"{path} is truncated", hint="re-export or re-download it", path=path)
    parts, at = [], HEADER.size
    for size in sizes:
        parts.append(np.frombuffer(data, np.uint8, size, at))
        at += size
    pos, alpha, colour, scale, rot, sh = parts
    p = pos.reshape(n, 3, 3).astype(np.int64)
    fixed = p[..., 0] | (p[..., 1] << 8) | (p[..., 2] << 16)
    fixed = np.where(fixed & 0x800000, fixed - (1 << 24), fixed)
    if version >= 3:
        quats = _unpack_quats(rot)
    else:
        xyz = rot.reshape(n, 3) / 127.5 - 1
        w = np.sqrt(np.maximum(0, 1 - np.sum(xyz * xyz, axis=1)))
        quats = np.concatenate([w[:, None], xyz * FLIP_Q], axis=1).astype(np.float32)
    shN = (sh.reshape(n, coeffs, 3) - 128.0) / 128 * FLIP_SH[:coeffs, None]
    return Splats((fixed / (1 << bits) * FLIP_P).astype(np.float32),
                  (scale.reshape(n, 3) / 16.0 - 10).astype(np.float32), quats,
                  opacity_logit(alpha),
                  ((colour.reshape(n, 3) / 255.0 - 0.5) / COLOUR_SCALE).astype(np.float32),
                  shN.astype(np.float32))
