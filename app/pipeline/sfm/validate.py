"""The validation gate: a model is handed to training only when these checks pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pycolmap

from ..errors import StageError
from .settings import SfmSettings


@dataclass
class GateResult:
    """What the gate found: failures (each a reason with the images concerned) and figures."""

    failures: list[str] = field(default_factory=list)
    registered: int = 0
    expected: int = 0
    points: int = 0
    mean_error_px: float = 0.0

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failures


def _names(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(sorted(names)[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_model(rec: pycolmap.Reconstruction, expected_images: list[str],
                settings: SfmSettings, gps_residual_m: float | None = None) -> GateResult:
    """Run every check of the gate on `rec` against the images that should be in it (and,
    for a georeferenced model, the mean distance of its cameras to their GPS positions)."""
    result = GateResult(expected=len(expected_images), points=rec.num_points3D(),
                        registered=rec.num_reg_images())
    registered = {im.name: im for im in rec.images.values() if im.has_pose}
    if not registered:
        result.failures.append("no image was registered")
        return result
    bad_tracks = _inconsistent_tracks(rec)
    if bad_tracks:
        result.failures.append(f"{bad_tracks} track elements do not point back to their 3D point")
    too_few = [name for name, im in registered.items()
               if im.num_points3D < max(1, settings.min_observations_per_image)]
    if too_few:
        result.failures.append(
            f"{len(too_few)} registered images have fewer than "
            f"{settings.min_observations_per_image} 2D-3D correspondences: {_names(too_few)}")
    ratio = len(registered) / max(1, len(expected_images))
    if ratio < settings.min_registered_ratio:
        missing = [n for n in expected_images if n not in registered]
        result.failures.append(
            f"only {len(registered)}/{len(expected_images)} images registered ({ratio:.0%} < "
            f"{settings.min_registered_ratio:.0%}); not registered: {_names(missing)}")
    if rec.num_points3D() < settings.min_points:
        result.failures.append(f"{rec.num_points3D()} 3D points (< {settings.min_points})")
    if gps_residual_m is not None and not gps_residual_m <= settings.max_gps_residual_m:
        result.failures.append(f"camera centres are {gps_residual_m:.1f} m from their GPS "
                               f"positions on average (> {settings.max_gps_residual_m} m)")
    if rec.num_points3D():
        result.mean_error_px = float(rec.compute_mean_reprojection_error())
        if not np.isfinite(result.mean_error_px) or \
                result.mean_error_px > settings.max_reprojection_error_px:
            result.failures.append(f"mean reprojection error {result.mean_error_px:.2f} px "
                                   f"(> {settings.max_reprojection_error_px} px)")
    return result


def _inconsistent_tracks(rec: pycolmap.Reconstruction) -> int:
    bad = 0
    for pid, point in rec.points3D.items():
        for el in point.track.elements:
            image = rec.images[el.image_id] if el.image_id in rec.images else None
            if image is None or el.point2D_idx >= image.num_points2D() or \
                    image.points2D[el.point2D_idx].point3D_id != pid:
                bad += 1
    return bad


def require_valid(rec: pycolmap.Reconstruction, expected_images: list[str],
                  settings: SfmSettings, model_path: Path | None = None,
                  gps_residual_m: float | None = None) -> GateResult:
    """Run the gate; StageError naming every failed check and the images concerned."""
    result = check_model(rec, expected_images, settings, gps_residual_m)
    if not result.ok:
        raise StageError(
            "The SfM model failed validation: " + "; ".join(result.failures),
            hint="check image overlap and sharpness in the ingest report, or relax the gate "
                 "with --set sfm.min_registered_ratio=... / sfm.max_reprojection_error_px=...",
            path=model_path)
    return result
