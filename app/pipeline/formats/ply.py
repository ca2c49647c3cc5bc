"""The standard 3DGS PLY (binary little-endian), as the reference code and every viewer read it."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from plyfile import PlyData, PlyElement

from .. import atomic
from ..errors import InputError
from .splats import Splats

REQUIRED = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity",
            "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
_HEADER_LIMIT = 64 * 1024


def read_header(path: Path) -> tuple[int, list[str], str, int]:
    """Parse the PLY header only: (vertex count, property names, format, header bytes)."""
    with open(path, "rb") as f:
        head = f.read(_HEADER_LIMIT)
    end = head.find(b"end_header\n")
    if not head.startswith(b"ply\n") or end < 0:
        raise InputError(f"{path} is not a PLY file (no 'ply' magic or no end_header)",
                         hint="export the splats as a binary 3DGS PLY", path=path)
    header = head[: end].decode("ascii", "replace")
    fmt = re.search(r"^format (\S+)", header, re.M)
    count = re.search(r"^element vertex (\d+)", header, re.M)
    if not fmt or not count:
        raise InputError(f"{path} has no vertex element", path=path,
                         hint="the file must hold the Gaussians as a 'vertex' element")
    vertex_part = header[count.start():].split("\nelement ")[0]
    names = re.findall(r"^property \S+ (\S+)$", vertex_part, re.M)
    return int(count.group(1)), names, fmt.group(1), end + len(b"end_header\n")


def read_ply(path: Path) -> Splats:
    """Read a 3DGS PLY; refuses truncated files and missing properties before allocating."""
    path = Path(path)
    count, names, fmt, header_len = read_header(path)
    missing = [p for p in REQUIRED if p not in names]
    if missing:
        raise InputError(f"{path} lacks the 3DGS properties {', '.join(missing)}",
                         hint="this is not a Gaussian splat PLY (a mesh or point cloud?)", path=path)
    if fmt == "binary_little_endian":
        expected = header_len + count * 4 * len(names)
        size = path.stat().st_size
        if size < expected:
            raise InputError(f"{path} declares {count} splats but holds only "
                             f"{max(0, size - header_len) // (4 * len(names))}; it is truncated",
                             hint="re-export or re-download the file", path=path)
    v = PlyData.read(str(path))["vertex"].data
    rest = sorted((n for n in names if n.startswith("f_rest_")), key=lambda s: int(s[7:]))
    k = len(rest) // 3
    f32 = np.float32

    def cols(*keys: str) -> np.ndarray:
        return np.stack([np.asarray(v[key], dtype=f32) for key in keys], axis=1)

    shN = (cols(*rest).reshape(count, 3, k).transpose(0, 2, 1) if k
           else np.zeros((count, 0, 3), f32))
    return Splats(means=cols("x", "y", "z"), scales=cols("scale_0", "scale_1", "scale_2"),
                  quats=cols("rot_0", "rot_1", "rot_2", "rot_3"),
                  opacities=np.asarray(v["opacity"], dtype=f32),
                  sh0=cols("f_dc_0", "f_dc_1", "f_dc_2"), shN=np.ascontiguousarray(shN))


def write_ply(path: Path, splats: Splats) -> None:
    """Write the standard 3DGS PLY atomically (f_rest channel-major, as the reference code)."""
    n, k = len(splats), splats.shN.shape[1]
    names = (["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
             + [f"f_rest_{i}" for i in range(3 * k)]
             + ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"])
    data = np.empty(n, dtype=[(name, "<f4") for name in names])
    columns = np.concatenate([
        splats.means, np.zeros((n, 3), np.float32), splats.sh0,
        splats.shN.transpose(0, 2, 1).reshape(n, 3 * k),
        splats.opacities[:, None], splats.scales, splats.quats], axis=1).astype(np.float32)
    data.view("<f4").reshape(n, len(names))[:] = columns
    with atomic.atomic_path(Path(path)) as tmp:
        PlyData([PlyElement.describe(data, "vertex")], byte_order="<").write(str(tmp))
