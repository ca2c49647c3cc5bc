"""From a raw model to the validated hand-off: georeference, check the focal length, gate,
write the raw model, undistort to PINHOLE, and write stats.json and geo.json.

Every backend (pycolmap, OpenSfM, an imported COLMAP model) ends here, so all are checked alike.
"""

from __future__ import annotations

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
from . import geo, intrinsics
from .flight import Flight
from .monitor import PycolmapCall
from .stats import DatabaseCounts, json_safe, model_stats, stats_document
from .validate import require_valid


@dataclass
class RawResult:
    """What a backend produced: models (largest first) and facts for stats.json."""

    models: list[pycolmap.Reconstruction]
    image_path: Path  # where the model's image names resolve
    counts: DatabaseCounts = field(default_factory=DatabaseCounts)
    focal_priors: dict[int, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


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
    """Georeference, check, gate and write the hand-off; returns the stage outputs."""
    settings = ctx.settings
    paths = ctx.project.paths
    rec = raw.models[0]
    membership = model_membership(raw.models)
    if len(raw.models) > 1:
        others = "; ".join(f"model {m['model']}: {len(m['images'])} images "
                           f"({', '.join(m['images'][:5])}{'...' if len(m['images']) > 5 else ''})"
                           for m in membership[1:])
        ctx.log(f"the images formed {len(raw.models)} separate models (they do not overlap); "
                f"keeping the largest ({rec.num_reg_images()} images), left out: {others}",
                "warning")
        elsewhere = {name for m in membership[1:] for name in m["images"]}
        expected = [name for name in expected if name not in elsewhere]

    origin = geo.choose_origin(flight)
    targets = geo.gps_targets(flight, origin) if origin else {}
    residuals = None
    if origin and geo.align_to_gps(rec, targets, 3.0 * settings.gps_std_horizontal_m):
        residuals = geo.gps_residuals(rec, targets)
    else:
        origin = None
        ctx.log("not enough registered images with GPS (3 needed): the model is NOT "
                "georeferenced (arbitrary frame and scale)", "warning")

    rec, focal = _check_focal(ctx, rec, flight, origin, targets, raw.focal_priors)
    raw.models[0] = rec
    if residuals is not None:
        residuals = geo.gps_residuals(rec, targets)

    ctx.progress(0.9, "writing the model")
    shutil.rmtree(paths.sfm_sparse, ignore_errors=True)
    for i, model in enumerate(raw.models):  # kept even when the gate fails, for inspection
        write_model(model, paths.sfm_sparse / str(i))
    gate = require_valid(rec, expected, settings, paths.sfm_sparse / "0",
                         residuals.mean if residuals else None)
    _undistort(ctx, raw.image_path)
    handoff = pycolmap.Reconstruction(str(paths.sfm_model))
    require_valid(handoff, expected, settings, paths.sfm_model)

    geo_doc = geo.write_geo_json(paths.geo_json, origin, residuals)
    event = model_stats(rec, raw.counts, len(expected), ctx.stage, "final")
    ctx.emit(event)
    extra = {"models": membership, "focal": focal, "backend": settings.backend,
             "georeferenced": geo_doc["georeferenced"],
             "gps_residual_m": geo_doc.get("gps_residual_m", {}).get("mean"), **raw.extra}
    atomic.write_json(paths.sfm_stats, json_safe(
        stats_document(event, raw.counts, expected, rec, extra)))
    return json_safe({
        "registered": gate.registered, "images": len(expected), "points": gate.points,
        "mean_reprojection_error_px": round(gate.mean_error_px, 3),
        "gps_residual_mean_m": round(residuals.mean, 3) if residuals else None,
        "georeferenced": origin is not None, "models": len(raw.models),
        "model": str(paths.sfm_model.relative_to(paths.root)),
        "images_dir": str(paths.sfm_images.relative_to(paths.root)),
        "geo": str(paths.geo_json.relative_to(paths.root)),
        "stats": str(paths.sfm_stats.relative_to(paths.root))})


def _check_focal(ctx: StageContext, rec: pycolmap.Reconstruction, flight: Flight,
                 origin: geo.Origin | None, targets: dict, priors: dict[int, float]
                 ) -> tuple[pycolmap.Reconstruction, dict[str, Any]]:
    """Report focal vs EXIF and ground height vs DJI altitude; on nadir flights under the
    `auto` policy, correct a focal length the altitude disagrees with when the images agree."""
    settings = ctx.settings
    tol = settings.focal_tolerance
    check = intrinsics.height_check(rec, flight, origin)
    nadir = intrinsics.nadir_fraction(flight)
    report: dict[str, Any] = {"policy": settings.focal_policy, "nadir_fraction": nadir,
                              "height_check_before": check.to_dict() if check else None,
                              "corrected": False}
    if check is None:
        ctx.log("no DJI RelativeAltitude: the model's ground height cannot be checked")
    elif abs(check.ratio - 1.0) > tol and settings.focal_policy == "auto" and \
            nadir is not None and nadir >= 0.8:
        before = _fmt(rec)
        corrected, figures = intrinsics.try_focal_correction(
            rec, check.ratio, targets, 3.0 * settings.gps_std_horizontal_m)
        report["correction"] = figures
        if corrected is not None:
            rec, report["corrected"] = corrected, True
            ctx.log(f"nadir flight: the model put the ground {check.model_height_m:.1f} m "
                    f"below the cameras where DJI RelativeAltitude says "
                    f"{check.expected_height_m:.1f} m; focal length set from {before} to "
                    f"{_fmt(rec)} px and bundle adjustment re-run with it fixed "
                    f"(sfm.focal_policy=refine keeps the refined value)", "warning")
            check = intrinsics.height_check(rec, flight, origin)
        else:
            ctx.log(f"the altitude suggests a focal length {check.ratio:.3f}x the refined "
                    f"{before} px, but the images contradict it (reprojection "
                    f"{figures['reprojection_before_px']:.2f} -> "
                    f"{figures['reprojection_after_px']:.2f} px): kept the refined value",
                    "warning")
    report["height_check"] = check.to_dict() if check else None
    report["height_disagrees"] = bool(check and abs(check.ratio - 1.0) > tol)
    if report["height_disagrees"]:
        ctx.log(f"the model's ground is {check.model_ground_m - check.expected_ground_m:+.1f} m "
                f"from GPS altitude - RelativeAltitude (height ratio {check.ratio:.3f}): the "
                f"focal length {_fmt(rec)} px or the take-off height may be wrong", "warning")
    report["cameras"] = intrinsics.focal_report(rec, priors, tol)
    for cid, cam in report["cameras"].items():
        if cam.get("disagrees_with_prior"):
            ctx.log(f"camera {cid}: focal {cam['focal_px']:.0f} px is "
                    f"{cam['focal_over_prior']:.3f}x the EXIF prior {cam['prior_focal_px']:.0f} px",
                    "warning")
    return rec, report


def _fmt(rec: pycolmap.Reconstruction) -> str:
    return "/".join(f"{c.mean_focal_length():.0f}" for c in rec.cameras.values())


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
