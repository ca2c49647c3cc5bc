"""What the export dialog knows without a widget: formats, destinations, the size estimate.

The export itself is the pipeline's `export_project`; this module only turns the dialog's
fields into its arguments and estimates the file's size before it is written: from the layout
of the fixed-layout formats (PLY, .splat, compressed PLY), as an upper bound for .spz (the
layout before gzip), and for SOG from this project's own scene.sog when it has one (measured
bytes per splat), else as the raw texel bound before lossless WebP.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from app.pipeline.compress.palette import palette_size
from app.pipeline.compress.settings import CompressSettings
from app.pipeline.compress.sog_codec import PALETTE_ROW
from app.pipeline.compress.textures import texture_size
from app.pipeline.errors import InputError
from app.pipeline.export import FORMATS, SUFFIXES, ExportOptions
from app.pipeline.formats.compressed_ply import CHUNK_PROPS, CHUNK_SIZE
from app.pipeline.formats.ply import read_header

LABELS = {"sog": "SOG (PlayCanvas, smallest)", "ply": "PLY (standard 3DGS)",
          "splat": ".splat (antimatter15 viewers)", "spz": ".spz (Niantic)",
          "compressed-ply": "Compressed PLY (PlayCanvas)"}
assert set(LABELS) == set(FORMATS)


def sh_coeffs(degree: int) -> int:
    """Coefficients per colour channel beyond the DC term: 0, 3, 8, 15 for degrees 0..3."""
    return (degree + 1) ** 2 - 1


@dataclass(frozen=True)
class PlyInfo:
    """What the header of train/splats.ply says: splat count and SH degree."""

    path: Path
    count: int
    sh_degree: int


def ply_info(ply: Path) -> PlyInfo:
    """Count and SH degree from the PLY header only (reads a few hundred bytes)."""
    count, names, _fmt, _len = read_header(ply)
    rest = sum(1 for n in names if n.startswith("f_rest_"))
    degree = next((d for d in (3, 2, 1, 0) if 3 * sh_coeffs(d) <= rest), 0)
    return PlyInfo(Path(ply), int(count), degree)


def _positions(ply: Path, batch: int = 1 << 20) -> Iterator[np.ndarray]:
    """The x, y, z columns of a binary 3DGS PLY in batches (a multi-GB PLY is never loaded whole)."""
    count, names, fmt, header_len = read_header(ply)
    if fmt != "binary_little_endian" or names[:3] != ["x", "y", "z"]:
        raise InputError(f"{ply} is not a float binary PLY starting with x, y, z", path=ply,
                         hint="export reads it anyway; only the estimate needs this layout")
    rows = np.memmap(ply, dtype=np.dtype("<f4"), mode="r", offset=header_len,
                     shape=(count, len(names)))
    for a in range(0, count, batch):
        yield np.asarray(rows[a:a + batch, :3])


def count_inside(ply: Path, box: tuple[float, ...]) -> int:
    """Splats of a PLY whose centre lies in `box` (xmin, ymin, zmin, xmax, ymax, zmax)."""
    lo, hi = np.asarray(box[:3], np.float32), np.asarray(box[3:], np.float32)
    return sum(int(np.all((xyz >= lo) & (xyz <= hi), axis=1).sum()) for xyz in _positions(ply))


def splat_bounds(ply: Path, keep: float = 0.995, sample: int = 1_000_000) -> tuple[list, list]:
    """Corners of the box holding `keep` of the splat centres on every axis (robust to floaters)."""
    count = read_header(ply)[0]
    step = max(1, count // sample)
    xyz = np.concatenate([b[::step] for b in _positions(ply, batch=step * (1 << 16))])
    xyz = xyz[np.isfinite(xyz).all(axis=1)]
    if not len(xyz):
        raise InputError(f"{ply} holds no finite splat position", path=ply)
    tail = (1 - keep) / 2
    return (np.quantile(xyz, tail, axis=0).tolist(), np.quantile(xyz, 1 - tail, axis=0).tolist())


@dataclass(frozen=True)
class SizeEstimate:
    """Bytes a format would take and how the figure was made: 'layout' (a fixed layout, the
    header approximated), 'at most' (an upper bound) or 'measured' (from this project)."""

    bytes: int
    kind: str
    basis: str

    def text(self) -> str:
        """e.g. 'about 12.4 MB (this project's scene.sog: 7.9 bytes per splat)'."""
        lead = "at most " if self.kind == "at most" else "about "
        return f"{lead}{human_bytes(self.bytes)} ({self.basis})"


def estimate_size(fmt: str, count: int, sh_degree: int, compress: CompressSettings,
                  sog_bytes_per_splat: float | None = None) -> SizeEstimate:
    """The size of `count` splats of SH degree `sh_degree` written as `fmt`."""
    k = sh_coeffs(sh_degree)
    if fmt == "ply":
        header = 100 + 25 * (17 + 3 * k)  # "property float f_rest_NN\n" lines, rounded up
        return SizeEstimate(header + count * 4 * (17 + 3 * k), "layout",
                            f"{17 + 3 * k} floats per splat")
    if fmt == "splat":
        return SizeEstimate(count * 32, "layout", "32 bytes per splat, no SH")
    if fmt == "compressed-ply":
        chunks = math.ceil(count / CHUNK_SIZE)
        body = chunks * len(CHUNK_PROPS) * 4 + count * (16 + 3 * k)
        return SizeEstimate(600 + 30 * 3 * k + body, "layout", f"{16 + 3 * k} bytes per splat")
    if fmt == "spz":
        return SizeEstimate(16 + count * (20 + 3 * k), "at most",
                            f"{20 + 3 * k} bytes per splat before gzip")
    degree = min(sh_degree, compress.sh_degree)
    if sog_bytes_per_splat:
        return SizeEstimate(int(count * sog_bytes_per_splat), "measured",
                            f"this project's scene.sog: {sog_bytes_per_splat:.1f} bytes per splat")
    w, h = texture_size(max(count, 1))
    textures = 5 + (degree > 0)  # means_l, means_u, quats, scales, sh0 (+ shN_labels)
    raw = 4 * w * h * textures
    if degree > 0:
        entries = palette_size(max(count, 1), compress.sh_palette_size)
        raw += 4 * math.ceil(entries / PALETTE_ROW) * PALETTE_ROW * sh_coeffs(degree)
    return SizeEstimate(raw, "at most", "raw texels before lossless WebP")


def sog_bytes_per_splat(quality_json: Path) -> float | None:
    """Bytes per splat of a SOG the project already wrote (its quality report), or None."""
    try:
        report = json.loads(Path(quality_json).read_text(encoding="utf-8"))
        written = int(report["splats"]["written"])
        return float(report["bytes"]) / written if written > 0 and report["format"] == "sog" \
            else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def human_bytes(n: float) -> str:
    """1234567 -> '1.23 MB' (decimal units, as file managers show them)."""
    for unit in ("bytes", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.2f} {unit}"
        n /= 1000
    return f"{n:.2f} GB"


def default_destination(exports: Path, fmt: str, current: Path | None = None) -> Path:
    """`exports/scene<suffix>`, or the current destination's folder and stem with `fmt`'s suffix."""
    if current is None or not str(current).strip():
        return Path(exports) / f"scene{SUFFIXES[fmt]}"
    current = Path(current)
    stem = current.name
    for suffix in sorted(SUFFIXES.values(), key=len, reverse=True):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    if current.name == "meta.json":
        stem, current = current.parent.name, current.parent
    return current.parent / f"{stem or 'scene'}{SUFFIXES[fmt]}"


@dataclass(frozen=True)
class ExportRequest:
    """The dialog's fields, as export_project takes them."""

    fmt: str
    out: Path
    sh_degree: int
    crop: tuple[float, ...] | None
    filter_floaters: bool

    def options(self, compress: CompressSettings) -> ExportOptions:
        """The pipeline's ExportOptions (compression knobs from the project's settings)."""
        return ExportOptions(sh_degree=self.sh_degree, crop=self.crop,
                             filter_floaters=self.filter_floaters, compress=compress)
