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
from .focal_check import check_focal
from .gate_hint import gate_error
from .image_status import image_entries
from .monitor import PycolmapCall
from .stats import DatabaseCounts, json_safe, model_stats, stats_document
from .timing import PhaseTimes
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
    expected = _main_model_images(ctx, raw.models, membership, expected)

    with times.phase("alignment"):
        origin = geo.choose_origin(flight)
        targets = geo.gps_targets(flight, origin) if origin else {}
        max_error_m = 3.0 * settings.gps_std_horizontal_m
        residuals = None
        if origin and geo.align_to_gps(rec, targets, max_error_m):
            residuals = geo.gps_residuals(rec, targets)
        else:
            origin = None
            ctx.log("not enough registered images with GPS (3 needed): the model is NOT "
                    "georeferenced (arbitrary frame and scale)", "warning")
    with times.phase("focal_check"):
        rec, focal = check_focal(ctx, rec, flight, origin, targets, raw.focal_priors,
                                 max_error_m)
        raw.models[0] = rec
        if residuals is not None:
            residuals = geo.gps_residuals(rec, targets)

    ctx.progress(0.9, "writing the model")
    with times.phase("writing"):
        shutil.rmtree(paths.sfm_sparse, ignore_errors=True)
        for i, model in enumerate(raw.models):  # kept even when the gate fails, for inspection
            write_model(model, paths.sfm_sparse / str(i))
        geo_doc = geo.write_geo_json(paths.geo_json, origin, residuals)
    with times.phase("gate"):
        gate = check_model(rec, expected, settings, residuals.mean if residuals else None)
    images = image_entries(expected, raw.models, raw.counts,
                           residuals.per_image if residuals else {}, list(flight.excluded),
                           settings.min_num_matches)
    event = model_stats(rec, raw.counts, len(expected), ctx.stage, "final")
    ctx.emit(event)
    extra = {"models": membership, "focal": focal, "backend": settings.backend,
             "georeferenced": geo_doc["georeferenced"],
             "gps_residual_m": geo_doc.get("gps_residual_m", {}).get("mean"), **raw.extra}

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
        "gps_residual_mean_m": round(residuals.mean, 3) if residuals else None,
        "georeferenced": origin is not None, "models": len(raw.models),
        "model": str(paths.sfm_model.relative_to(paths.root)),
        "images_dir": str(paths.sfm_images.relative_to(paths.root)),
        "geo": str(paths.geo_json.relative_to(paths.root)),
        "stats": str(paths.sfm_stats.relative_to(paths.root))})


def _main_model_images(ctx: StageContext, models: list[pycolmap.Reconstruction],
                       membership: list[dict[str, Any]], expected: list[str]) -> list[str]:
    """The images the kept (largest) model should hold: all but those in separate models."""
    if len(models) <= 1:
        return expected
    others = "; ".join(f"model {m['model']}: {len(m['images'])} images "
                       f"({', '.join(m['images'][:5])}{'...' if len(m['images']) > 5 else ''})"
                       for m in membership[1:])
    ctx.log(f"the images formed {len(models)} separate models (they do not overlap); "
            f"keeping the largest ({models[0].num_reg_images()} images), left out: {others}",
            "warning")
    elsewhere = {name for m in membership[1:] for name in m["images"]}
    return [name for name in expected if name not in elsewhere]


def _image_quality(report_path: Path) -> dict[str, dict[str, Any]]:
    """Ingest's per-image sharpness and exposure (empty when the report has none)."""
    try:
        return json.loads(report_path.read_text(encoding="utf-8")).get("image_quality") or {}
    except (OSError, ValueError):
        return {}


def _undistort(ctx: StageContext, image_path: Path) -> None:
    paths = ctx.project.paths
    settings = ctx.settings
    tmp = Path(tempfile.mkdtemp(dir=paths.sfm, prefix=".undistorted-"))
    options = pycolmap.UndistortCameraOptions()
    options.max_image_size = settings.undistort_max_image_size
    ctx.progress(0.92, "undistorting images")
    try:
        with PycolmapCall(ctx.cancel) as call:
            pycolmap.undistort_images(str(tmp), str(paths.sfm_sparse / "0"), str(image_path),
                                      output_type="COLMAP", undistort_options=options,
                                      num_threads=settings.num_threads,
                                      cancellation_token=call.token)
        for extra in ("stereo", "run-colmap-geometric.sh", "run-colmap-photometric.sh"):
            target = tmp / extra
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        replace_dir(tmp, paths.sfm_undistorted)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
