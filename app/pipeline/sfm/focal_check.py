"""The focal-length check of a finished model: focal against its EXIF prior, the model's ground
height against DJI RelativeAltitude, and the altitude correction on nadir flights."""

from __future__ import annotations

from typing import Any

import numpy as np
import pycolmap

from ..stage import StageContext
from .flight import Flight
from .geo import Origin
from .georeference import Georeference, place
from .intrinsics import (Realign, focal_report, height_check, nadir_fraction,
                         try_focal_correction)


def check_focal_placed(ctx: StageContext, rec: pycolmap.Reconstruction, flight: Flight,
                       georef: Georeference | None, priors: dict[int, float]
                       ) -> tuple[pycolmap.Reconstruction, Georeference | None, dict[str, Any]]:
    """check_focal on a placed model; a corrected model comes back placed the same way."""
    placed: dict[int, Georeference | None] = {}

    def realign(model: pycolmap.Reconstruction) -> float:
        moved = place(model, georef.origin, georef.targets) if georef else None
        placed[id(model)] = moved
        return float(np.mean(list(moved.horizontal.values()))) if moved else float("inf")

    residual = float(np.mean(list(georef.horizontal.values()))) if georef else float("nan")
    out, report = check_focal(ctx, rec, flight, georef.origin if georef else None, priors,
                              residual, realign)
    return out, (placed[id(out)] if out is not rec else georef), report


def check_focal(ctx: StageContext, rec: pycolmap.Reconstruction, flight: Flight,
                origin: Origin | None, priors: dict[int, float], gps_residual_m: float,
                realign: Realign) -> tuple[pycolmap.Reconstruction, dict[str, Any]]:
    """Report focal vs EXIF and ground height vs DJI altitude; on nadir flights under the
    `auto` policy, correct a focal length the altitude disagrees with when the images agree."""
    settings = ctx.settings
    tol = settings.focal_tolerance
    check = height_check(rec, flight, origin)
    nadir = nadir_fraction(flight)
    report: dict[str, Any] = {"policy": settings.focal_policy, "nadir_fraction": nadir,
                              "height_check_before": check.to_dict() if check else None,
                              "corrected": False}
    if check is None:
        ctx.log("no DJI RelativeAltitude: the model's ground height cannot be checked")
    elif abs(check.ratio - 1.0) > tol and settings.focal_policy == "auto" and \
            nadir is not None and nadir >= 0.8:
        before = _fmt(rec)
        corrected, figures = try_focal_correction(
            rec, check.ratio, gps_residual_m, realign)
        report["correction"] = figures
        if corrected is not None:
            rec, report["corrected"] = corrected, True
            ctx.log(f"nadir flight: the model put the ground {check.model_height_m:.1f} m "
                    f"below the cameras where DJI RelativeAltitude says "
                    f"{check.expected_height_m:.1f} m; focal length set from {before} to "
                    f"{_fmt(rec)} px and bundle adjustment re-run with it fixed "
                    f"(sfm.focal_policy=refine keeps the refined value)", "warning")
            check = height_check(rec, flight, origin)
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
    report["cameras"] = focal_report(rec, priors, tol)
    for cid, cam in report["cameras"].items():
        if cam.get("disagrees_with_prior"):
            ctx.log(f"camera {cid}: focal {cam['focal_px']:.0f} px is "
                    f"{cam['focal_over_prior']:.3f}x the EXIF prior {cam['prior_focal_px']:.0f} px",
                    "warning")
    return rec, report


def _fmt(rec: pycolmap.Reconstruction) -> str:
    return "/".join(f"{c.mean_focal_length():.0f}" for c in rec.cameras.values())
