"""From a raw model to the validated hand-off: georeference, check the focal length, gate,
write the raw model, undistort to PINHOLE, and write stats.json and geo.json.

Every backend (pycolmap, OpenSfM, an imported COLMAP model) ends here, so all are checked alike.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pycolmap

from .. import atomic
from ..stage import StageContext
from . import geo
from .flight import Flight
from .focal_check import check_focal_placed
from .gate import run_gate
from .gate_hint import gate_error
from .georeference import georeference
from .image_status import image_entries
from .monitor import PycolmapCall
from .separate_models import expected_in_main
from .stats import DatabaseCounts, json_safe, model_stats, stats_document
from .timing import PhaseTimes
from .undistort import undistort
from .validate import check_model


@dataclass
class RawResult:
    """What a backend produced: models (largest first) and facts for stats.json."""

    models: list[pycolmap.Reconstruction]
    image_path: Path  # where the model's image names resolve
    counts: DatabaseCounts = field(default_factory=DatabaseCounts)
    focal_priors: dict[int, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    timings: PhaseTimes = field(default_factory=PhaseTimes)  # seconds per phase, for stats.json


def write_model(rec: pycolmap.Reconstruction, folder: Path) -> None:
    """Write cameras/images/points3D.bin into `folder`, each file atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".model-") as tmp:
        rec.write_binary(tmp)
        for name in ("cameras.bin", "images.bin", "points3D.bin", "frames.bin", "rigs.bin"):
            if (Path(tmp) / name).exists():
                with atomic.atomic_path(folder / name) as dest:
                    shutil.copyfile(Path(tmp) / name, dest)


def replace_dir(new: Path, dest: Path) -> None:
    """Put the finished folder `new` at `dest`, replacing what was there (two renames)."""
    old = dest.with_name(f".{dest.name}.old-{uuid.uuid4().hex[:6]}")
    if dest.exists():
        os.replace(dest, old)
    os.replace(new, dest)
    shutil.rmtree(old, ignore_errors=True)


def model_membership(models: list[pycolmap.Reconstruction]) -> list[dict[str, Any]]:
    """Which registered images formed which model (largest first)."""
    return [{"model": i, "registered": m.num_reg_images(), "points": m.num_points3D(),
             "images": sorted(im.name for im in m.images.values() if im.has_pose)}
            for i, m in enumerate(models)]


def finish(ctx: StageContext, raw: RawResult, flight: Flight, expected: list[str]
           ) -> dict[str, Any]:
    """Georeference, check, gate and write the hand-off; returns the stage outputs.

    sfm/stats.json is written whatever the gate's verdict, before a failure is raised."""
    settings = ctx.settings
    paths = ctx.project.paths
    times = raw.timings
    rec = raw.models[0]
    membership = model_membership(raw.models)
    expected = expected_in_main(membership, expected, flight, ctx.log)

    with times.phase("alignment"):
        georef = georeference(rec, flight, settings)
        if georef is None:
            ctx.log("not enough registered images with GPS (3 needed): the model is NOT "
                    "georeferenced (arbitrary frame and scale)", "warning")
    with times.phase("focal_check"):
        rec, georef, focal = check_focal_placed(ctx, rec, flight, georef, raw.focal_priors)
        raw.models[0] = rec

    ctx.progress(0.9, "writing the model")
    with times.phase("writing"):
        shutil.rmtree(paths.sfm_sparse, ignore_errors=True)
        for i, model in enumerate(raw.models):  # kept even when the gate fails, for inspection
            write_model(model, paths.sfm_sparse / str(i))
        geo_doc = geo.write_geo_json(paths.geo_json, georef.origin if georef else None,
                                     georef.geo_json() if georef else None)
    with times.phase("gate"):
        gate = run_gate(rec, expected, settings, georef, flight.gps_quality)
    images = image_entries(expected, raw.models, raw.counts,
                           georef.horizontal if georef else {}, list(flight.excluded),
                           settings.min_num_matches)
    event = model_stats(rec, raw.counts, len(expected), ctx.stage, "final")
    ctx.emit(event)
    residual = geo_doc.get("gps_residual_m") or {}
    extra = {"models": membership, "focal": focal, "backend": settings.backend,
             "georeferenced": geo_doc["georeferenced"], "gps_residual_m": residual.get("mean"),
             "georeference_accuracy": geo_doc.get("accuracy"), **raw.extra}

    def write_stats() -> None:
        atomic.write_json(paths.sfm_stats, json_safe(stats_document(
            event, raw.counts, images, {**extra, "gate": gate.to_dict(), "timings_s": times})))

    if not gate.ok:
        write_stats()
        raise gate_error(gate, settings, images, _image_quality(paths.ingest_report),
                         paths.sfm_sparse / "0")
    with times.phase("undistortion"):
        _undistort(ctx, raw.image_path)
    with times.phase("gate"):
        handoff = check_model(pycolmap.Reconstruction(str(paths.sfm_model)), expected, settings)
    if not handoff.ok:
        gate = handoff
        write_stats()
        raise gate_error(gate, settings, images, {}, paths.sfm_model)
    for warning in gate.warnings:
        ctx.log(warning.message, "warning")
    write_stats()
    return json_safe({
        "registered": gate.registered, "images": len(expected), "points": gate.points,
        "mean_reprojection_error_px": round(gate.mean_error_px, 3),
        "gps_residual_mean_m": residual.get("mean"),
        "georeferenced": georef is not None, "models": len(raw.models),
        "model": str(paths.sfm_model.relative_to(paths.root)),
        "images_dir": str(paths.sfm_images.relative_to(paths.root)),
        "geo": str(paths.geo_json.relative_to(paths.root)),
        "stats": str(paths.sfm_stats.relative_to(paths.root))})


def _image_quality(report_path: Path) -> dict[str, dict[str, Any]]:
    """Ingest's per-image sharpness and exposure (empty when the report has none)."""
    try:
        return json.loads(report_path.read_text(encoding="utf-8")).get("image_quality") or {}
    except (OSError, ValueError):
        return {}


def _undistort(ctx: StageContext, image_path: Path) -> None:
    """Write sfm/undistorted/ (images + model) in a temporary folder, then swap it in."""
    paths = ctx.project.paths
    settings = ctx.settings
    tmp = Path(tempfile.mkdtemp(dir=paths.sfm, prefix=".undistorted-"))

    def progress(done: int, total: int) -> None:
        ctx.progress(0.92 + 0.07 * done / total, f"undistorting images: {done}/{total}")

    try:
        if not settings.fast_decode:
            _pycolmap_undistort(ctx, image_path, tmp)
        else:
            undistort(paths.sfm_sparse / "0", image_path, tmp, settings.undistort_max_image_size,
                      settings.num_threads, ctx.cancel, progress)
        replace_dir(tmp, paths.sfm_undistorted)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _pycolmap_undistort(ctx: StageContext, image_path: Path, out: Path) -> None:
    """pycolmap's own undistorter (sfm.fast_decode=false), minus its MVS extras."""
    options = pycolmap.UndistortCameraOptions()
    options.max_image_size = ctx.settings.undistort_max_image_size
    with PycolmapCall(ctx.cancel) as call:
        pycolmap.undistort_images(str(out), str(ctx.project.paths.sfm_sparse / "0"),
                                  str(image_path), output_type="COLMAP",
                                  undistort_options=options, num_threads=ctx.settings.num_threads,
                                  cancellation_token=call.token)
    for extra in ("stereo", "run-colmap-geometric.sh", "run-colmap-photometric.sh"):
        target = out / extra
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
