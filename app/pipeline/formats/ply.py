"""The standard 3DGS PLY (binary little-endian), as the reference code and every viewer read it.

Binary little-endian files are read in blocks of rows, so a 10M-splat file costs its decoded
arrays and one block; NaN/inf splats are dropped and counted; files whose header
promises more data than they hold are refused before anything is allocated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from plyfile import PlyData, PlyParseError

from .. import atomic
from ..errors import InputError
from .splats import Splats

REQUIRED = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity",
            "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
_HEADER_LIMIT = 64 * 1024
_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "<i2", "int16": "<i2",
          "ushort": "<u2", "uint16": "<u2", "int": "<i4", "int32": "<i4", "uint": "<u4",
          "uint32": "<u4", "float": "<f4", "float32": "<f4", "double": "<f8", "float64": "<f8"}
CHUNK = 1 << 20  # splats decoded per step


@dataclass
class PlyLoad:
    """A read PLY: the finite splats, how many were dropped for NaN/inf, the unused properties."""

    splats: Splats
    dropped_nonfinite: int
    ignored_properties: list[str]


def parse_elements(path: Path) -> tuple[str, list[tuple[str, int, list[tuple[str, str]]]], int]:
    """Parse a PLY header: (format, [(element, count, [(property, type)])], header bytes)."""
    with open(path, "rb") as f:
        head = f.read(_HEADER_LIMIT)
    end = head.find(b"end_header\n")
    if not head.startswith(b"ply\n") or end < 0:
        raise InputError(f"{path} is not a PLY file (no 'ply' magic or no end_header)",
                         hint="export the splats as a binary 3DGS PLY", path=path)
    header = head[:end].decode("ascii", "replace")
    fmt = re.search(r"^format (\S+)", header, re.M)
    elements: list[tuple[str, int, list[tuple[str, str]]]] = []
    for line in header.splitlines():
        parts = line.split()
        if parts[:1] == ["element"] and len(parts) == 3 and parts[2].isdigit():
            elements.append((parts[1], int(parts[2]), []))
        elif parts[:1] == ["property"] and elements:
            ptype = "list" if parts[1] == "list" else parts[1]
            elements[-1][2].append((parts[-1], ptype))
    if not fmt or not any(e[0] == "vertex" for e in elements):
        raise InputError(f"{path} has no vertex element", path=path,
                         hint="the file must hold the Gaussians as a 'vertex' element")
    return fmt.group(1), elements, end + len(b"end_header\n")


def read_header(path: Path) -> tuple[int, list[str], str, int]:
    """Parse the PLY header only: (vertex count, property names, format, header bytes)."""
    fmt, elements, header_len = parse_elements(Path(path))
    count, props = next((c, p) for name, c, p in elements if name == "vertex")
    return count, [name for name, _ in props], fmt, header_len


def _columns_layout(path: Path, names: list[str]) -> tuple[list[str], list[str]]:
    """(f_rest names in order, ignored property names); InputError on a broken SH layout."""
    missing = [p for p in REQUIRED if p not in names]
    if missing:
        raise InputError(f"{path} lacks the 3DGS properties {', '.join(missing)}",
                         hint="this is not a Gaussian splat PLY (a mesh or point cloud?)", path=path)
    rest = sorted((n for n in names if re.fullmatch(r"f_rest_\d+", n)), key=lambda s: int(s[7:]))
    if len(rest) not in (0, 9, 24, 45) or rest != [f"f_rest_{i}" for i in range(len(rest))]:
        raise InputError(f"{path} has {len(rest)} f_rest properties; a 3DGS PLY has 0, 9, 24 or 45 "
                         "numbered from f_rest_0", hint="re-export the splats from the trainer",
                         path=path)
    ignored = [n for n in names if n not in REQUIRED and n not in rest]
    return rest, ignored


def load_ply(path: Path, progress: Callable[[float, str], None] | None = None) -> PlyLoad:
    """Read a 3DGS PLY with bounded memory; NaN/inf splats are dropped and counted."""
    path = Path(path)
    fmt, elements, header_len = parse_elements(path)
    count, props = next((c, p) for name, c, p in elements if name == "vertex")
    names = [n for n, _ in props]
    rest, ignored = _columns_layout(path, names)
    simple = (fmt == "binary_little_endian" and elements[0][0] == "vertex"
              and all(t in _TYPES for _, t in props))
    if simple:
        dtype = np.dtype([(n, _TYPES[t]) for n, t in props])
        size = path.stat().st_size
        if size < header_len + count * dtype.itemsize:
            held = max(0, size - header_len) // dtype.itemsize
            raise InputError(f"{path} declares {count} splats but holds only {held}; it is truncated",
                             hint="re-export or re-download the file", path=path)
        chunks = _binary_chunks(path, dtype, header_len, count)
    else:
        table = _read_with_plyfile(path)
        chunks = (table[a:a + CHUNK] for a in range(0, count, CHUNK))
    k = len(rest) // 3
    out = Splats(np.empty((count, 3), np.float32), np.empty((count, 3), np.float32),
                 np.empty((count, 4), np.float32), np.empty(count, np.float32),
                 np.empty((count, 3), np.float32), np.empty((count, k, 3), np.float32))
    kept = done = 0
    for rows in chunks:
        part = _to_splats(rows, rest)
        good = part.finite_mask()
        m = int(good.sum())
        for field in ("means", "scales", "quats", "opacities", "sh0", "shN"):
            getattr(out, field)[kept:kept + m] = getattr(part, field)[good]
        kept, done = kept + m, done + len(rows)
        if progress:
            progress(done / count, f"reading {path.name}")
    return PlyLoad(out.subset(slice(0, kept)) if kept < count else out, count - kept, ignored)


def _binary_chunks(path: Path, dtype: np.dtype, offset: int, count: int):
    """Successive row blocks of a binary little-endian vertex table (one block in memory)."""
    with open(path, "rb") as f:
        f.seek(offset)
        for start in range(0, count, CHUNK):
            yield np.fromfile(f, dtype=dtype, count=min(CHUNK, count - start))


def _read_with_plyfile(path: Path) -> np.ndarray:
    """The vertex table of an ASCII / big-endian / unusual-layout PLY (small files)."""
    try:
        return PlyData.read(str(path))["vertex"].data
    except (PlyParseError, ValueError, KeyError, EOFError) as exc:
        raise InputError(f"{path} could not be parsed as PLY: {exc}",
                         hint="re-export the splats as a binary little-endian 3DGS PLY",
                         path=path) from exc


def _to_splats(rows: np.ndarray, rest: list[str]) -> Splats:
    f32 = np.float32

    def cols(*keys: str) -> np.ndarray:
        return np.stack([np.asarray(rows[key], dtype=f32) for key in keys], axis=1) if keys \
            else np.zeros((len(rows), 0), f32)

    k = len(rest) // 3
    return Splats(means=cols("x", "y", "z"), scales=cols("scale_0", "scale_1", "scale_2"),
                  quats=cols("rot_0", "rot_1", "rot_2", "rot_3"),
                  opacities=np.asarray(rows["opacity"], dtype=f32),
                  sh0=cols("f_dc_0", "f_dc_1", "f_dc_2"),
                  shN=np.ascontiguousarray(cols(*rest).reshape(len(rows), 3, k).transpose(0, 2, 1)))


def read_ply(path: Path) -> Splats:
    """Read a 3DGS PLY; refuses truncated files and missing properties before allocating."""
    return load_ply(path).splats


def write_ply(path: Path, splats: Splats) -> None:
    """Write the standard 3DGS PLY atomically (f_rest channel-major, as the reference code).

    Written in chunks of rows, so the file never exists twice in memory.
    """
    n, k = len(splats), splats.shN.shape[1]
    names = (["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
             + [f"f_rest_{i}" for i in range(3 * k)]
             + ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"])
    header = "ply\nformat binary_little_endian 1.0\n" + f"element vertex {n}\n" + "".join(
        f"property float {name}\n" for name in names) + "end_header\n"
    with atomic.atomic_path(Path(path)) as tmp, open(tmp, "wb") as f:
        f.write(header.encode("ascii"))
        for a in range(0, n, CHUNK):
            b = min(n, a + CHUNK)
            rows = np.concatenate([
                splats.means[a:b], np.zeros((b - a, 3), np.float32), splats.sh0[a:b],
                splats.shN[a:b].transpose(0, 2, 1).reshape(b - a, 3 * k),
                splats.opacities[a:b, None], splats.scales[a:b], splats.quats[a:b]], axis=1)
            f.write(rows.astype("<f4").tobytes())
