"""Export splats as SOG, PLY, .splat, .spz or compressed PLY, with a quality report and georef.

Format-level: a PLY in, a file out; it knows neither the project nor the cloud (project_export.py
exports a project's trained splats through it).

Every export: read the 3DGS PLY (bounded memory, NaN/inf dropped), select (SH degree, crop box,
floater filter), centre when the format is most precise near the origin, write beside the
destination, decode the written file again (and render it), and only then replace the
destination, with the per-attribute errors and sizes beside it (`<file>.quality.json`) and the
ENU georeference and the centring offset (`<file>.georef.json`): a cancel or an error before the
end leaves the destination as it was.
"""

from __future__ import annotations

import glob
import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from . import atomic
from .compress import filters
from .compress.quality import output_bytes, roundtrip_errors
from .compress.render_check import RenderCheck
from .compress.settings import CompressSettings
from .compress.sog_read import read_sog
from .compress.order import morton_order
from .compress.sog_write import encode_sog, save_sog
from .cancel import CancelToken
from .errors import InputError
from .events import ProgressFn
from .formats import compressed_ply, splat, spz
from .formats.georef import sidecar
from .formats.ply import load_ply, read_ply, write_ply
from .formats.splats import Splats

FORMATS = ("sog", "ply", "splat", "spz", "compressed-ply")
SUFFIXES = {"sog": ".sog", "ply": ".ply", "splat": ".splat", "spz": ".spz",
            "compressed-ply": ".compressed.ply"}
ERROR_SAMPLE = 2_000_000  # round-trip errors are measured on at most about this many splats
CENTRED = ("sog", "spz")  # log-space / fixed-point positions: most precise near the origin


@dataclass
class ExportOptions:
    """What to export besides the format and destination."""

    sh_degree: int | None = None  # highest SH band kept (None: all the PLY has)
    crop: tuple[float, ...] | None = None  # xmin, ymin, zmin, xmax, ymax, zmax (splat frame)
    filter_floaters: bool = False
    centre: bool | None = None  # None: centre SOG and .spz, keep the frame of the others
    compress: CompressSettings = field(default_factory=CompressSettings)


def _check_destination(fmt: str, out: Path) -> None:
    if fmt not in FORMATS:
        raise InputError(f"Unknown export format {fmt!r}", hint=f"choose one of {', '.join(FORMATS)}")
    name = out.name.lower()
    ok = name.endswith(SUFFIXES[fmt]) and not (fmt == "ply" and name.endswith(".compressed.ply"))
    if fmt == "sog":
        ok = ok or name == "meta.json" or out.is_dir() or not out.suffix
    if not ok:
        raise InputError(f"{out} does not end in {SUFFIXES[fmt]} as a {fmt} file should",
                         hint=f"name the output *{SUFFIXES[fmt]}" + (
                             " (or a folder / meta.json for unbundled SOG)" if fmt == "sog" else ""),
                         path=out)


def _select(splats: Splats, options: ExportOptions, fmt: str) -> tuple[Splats, dict[str, int]]:
    counts: dict[str, int] = {}
    degree = options.sh_degree if options.sh_degree is not None else splats.sh_degree
    if fmt == "sog":
        degree = min(degree, options.compress.sh_degree)
    if not 0 <= degree <= 3:
        raise InputError(f"SH degree must be 0..3, not {degree}", hint="use --sh-degree 0, 1, 2 or 3")
    splats = splats.with_sh_degree(degree)
    if options.crop is not None:
        keep = filters.crop_mask(splats, options.crop)
        counts["outside_crop"] = int((~keep).sum())
        splats = splats.subset(keep)
    if options.filter_floaters:
        keep = filters.floater_mask(splats)
        counts["floaters"] = int((~keep).sum())
        splats = splats.subset(keep)
    return splats, counts


def _write(fmt: str, splats: Splats, out: Path, settings: CompressSettings, progress: ProgressFn,
           cancel: CancelToken | None) -> tuple[list[Path], np.ndarray | None]:
    """Write one format; returns the files written and the order used (None: input order)."""
    if fmt == "sog":
        encoded = encode_sog(splats, settings, progress, cancel)
        return save_sog(encoded, out), encoded.order
    if fmt == "ply":
        write_ply(out, splats)
        return [out], None
    if fmt == "splat":
        return [out], splat.write_splat(out, splats)
    if fmt == "spz":
        spz.write_spz(out, splats)
        return [out], None
    order = morton_order(splats.means)
    compressed_ply.write_compressed_ply(out, splats, order)
    return [out], order


@contextmanager
def _staged(out: Path, fmt: str) -> Iterator[Path]:
    """Where the export is written and checked before it replaces `out`: an error or a cancel
    until then leaves `out` as it was. An unbundled SOG (several files in a folder, meta.json
    last) is written in place."""
    if fmt == "sog" and out.suffix.lower() != ".sog":
        yield out
        return
    for old in out.parent.glob(f".{glob.escape(out.name)}.export-*"):  # a killed export's
        pid = old.name[len(out.name) + len(".export-") + 1:].split(".")[0]
        if pid.isdigit() and not atomic.pid_alive(int(pid)):
            old.unlink(missing_ok=True)
    staged = out.with_name(f".{out.name}.export-{os.getpid()}{SUFFIXES[fmt]}")  # same suffix
    try:
        yield staged
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    os.replace(staged, out)


READERS = {"sog": read_sog, "ply": read_ply, "splat": splat.read_splat, "spz": spz.read_spz,
           "compressed-ply": compressed_ply.read_compressed_ply}


def export_splats(ply: Path, fmt: str, out: Path, options: ExportOptions | None = None,
                  progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                  georef: dict[str, Any] | None = None,
                  render_check: RenderCheck | None = None) -> dict[str, Any]:
    """Export the splats of a 3DGS PLY file; returns (and writes beside `out`) the quality report.

    `render_check(source, decoded)` (both in the PLY's frame) adds the report's "render" entry.
    """
    options = options or ExportOptions()
    progress = progress or (lambda f, m: None)
    check = cancel.check if cancel else (lambda: None)
    ply, out = Path(ply), Path(out)
    _check_destination(fmt, out)
    if not ply.is_file():
        raise InputError(f"No splats to export: {ply} does not exist",
                         hint="run the training stage first", path=ply)
    t0 = time.perf_counter()
    loaded = load_ply(ply, progress=lambda f, m: progress(0.15 * f, m))
    check()
    splats, removed = _select(loaded.splats, options, fmt)
    removed["nonfinite"] = loaded.dropped_nonfinite
    if len(splats) == 0:
        raise InputError(f"{ply} leaves no splats to export ({len(loaded.splats)} finite, "
                         f"{removed})", hint="check the crop box / filters, or retrain", path=ply)
    centre = options.centre if options.centre is not None else fmt in CENTRED
    sample = splats.means[:: max(1, len(splats) // 100_000)].astype(np.float64)  # a median is robust
    offset = np.median(sample, axis=0) if centre else np.zeros(3)  # to floaters; 1e5 suffice
    if centre:
        splats = Splats(splats.means - offset.astype(np.float32), splats.scales, splats.quats,
                        splats.opacities, splats.sh0, splats.shN)
    t_read = time.perf_counter()
    progress(0.2, f"writing {fmt}")
    with _staged(out, fmt) as target:
        files, order = _write(fmt, splats, target, options.compress,
                              lambda f, m: progress(0.2 + 0.7 * f, m), cancel)
        t_write = time.perf_counter()
        progress(0.9, "reading the export back")
        decoded = READERS[fmt](target)
        step = max(1, len(decoded) // ERROR_SAMPLE)  # bounds the memory and time of the check
        rows = np.arange(0, len(decoded), step)
        reference = splats.subset(rows if order is None else order[rows])
        errors = roundtrip_errors(reference.with_sh_degree(decoded.sh_degree), decoded.subset(rows))
        size, source_size = output_bytes(files), ply.stat().st_size
        t_verify = time.perf_counter()
        render = None
        if render_check is not None:
            check()
            progress(0.95, "rendering held-out views before and after")
            render = render_check(loaded.splats, _moved(decoded, offset))
        t_render = time.perf_counter()
        check()  # the last moment a cancel leaves the destination as it was
    files = [out if f == target else f for f in files]
    report = {
        "format": fmt, "output": str(out), "files": [str(f) for f in files], "bytes": size,
        "source_ply": str(ply), "source_bytes": source_size,
        "ratio_to_ply": round(source_size / max(size, 1), 2),
        "splats": {"in_file": len(loaded.splats) + loaded.dropped_nonfinite, "written": len(splats),
                   "removed": removed},
        "sh_degree": decoded.sh_degree, "centre_offset_m": offset.tolist(),
        "seconds": {"read_and_select": round(t_read - t0, 3), "write": round(t_write - t_read, 3),
                    "verify": round(t_verify - t_write, 3),
                    "render_check": round(t_render - t_verify, 3)},
        "errors": errors, "errors_of_every_nth_splat": step,
    }
    if render is not None:
        report["render"] = render
    atomic.write_json(sidecar(out, "georef"), _georef(georef, offset))
    atomic.write_json(sidecar(out, "quality"), report)
    progress(1.0, f"{fmt}: {size / 1e6:.2f} MB, {report['ratio_to_ply']}x smaller than the PLY")
    return report


def _moved(splats: Splats, offset: np.ndarray) -> Splats:
    """The splats translated by `offset` (back from the centred frame of the file)."""
    if not offset.any():
        return splats
    return Splats((splats.means + offset).astype(np.float32), splats.scales, splats.quats,
                  splats.opacities, splats.sh0, splats.shN)


def _georef(geo: dict[str, Any] | None, offset: np.ndarray) -> dict[str, Any]:
    """The sidecar: ENU origin (lat/lon/alt) of the splat frame and the offset subtracted from it."""
    return {"crs": "ENU", "units": "m", "axes": "x east, y north, z up",
            "origin": (geo or {}).get("origin"),
            "offset_m": offset.tolist(),
            "accuracy": (geo or {}).get("accuracy"),  # sfm/geo.json's (position, scale, ...)
            "note": "ENU position = file position + offset_m; origin is the ENU origin (WGS84)"
                    if geo else "no georeference: the SfM model was not georegistered"}


def read_georef(path: Path) -> dict[str, Any] | None:
    """The project's sfm/geo.json, or None when the model is not georegistered."""
    try:
        geo = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} is unreadable: {exc}", hint="rerun the sfm stage",
                         path=path) from exc
    return geo if geo.get("georeferenced", True) and geo.get("origin") else None
