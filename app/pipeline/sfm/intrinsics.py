"""Focal length you can trust on nadir flights: EXIF prior, checks, and the altitude correction.

Flat ground seen straight down makes focal length and depth ambiguous (image scale = f / height),
so a refined focal can drift far from the truth while reprojection stays perfect. With GPS
fixing the camera heights, DJI's RelativeAltitude (height above the take-off ground) pins the
depth of the ground and hence the focal length.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any, Callable, Iterable

import numpy as np
import pycolmap

from .flight import Flight
from .geo import Origin, camera_centres, expected_ground_altitude

Realign = Callable[[pycolmap.Reconstruction], float]  # re-place a model in ENU; its GPS residual

NADIR_MAX_OFF_DEG = 15.0  # a gimbal pitch within this of -90 degrees counts as nadir


def camera_focal_priors(images: Iterable[tuple[str, int]], flight: Flight) -> dict[int, float]:
    """Median EXIF focal prior (pixels) per camera id, from (image name, camera id) pairs."""
    priors = {im.file: im.focal_prior_px for im in flight.images if im.focal_prior_px}
    per_camera: dict[int, list[float]] = {}
    for name, camera_id in images:
        if name in priors:
            per_camera.setdefault(camera_id, []).append(priors[name])
    return {cid: float(median(values)) for cid, values in per_camera.items()}


def model_focal_priors(rec: pycolmap.Reconstruction, flight: Flight) -> dict[int, float]:
    """EXIF focal prior of each camera of a model."""
    return camera_focal_priors(((im.name, im.camera_id) for im in rec.images.values()), flight)


def apply_focal_priors(database: Path, flight: Flight) -> dict[int, float]:
    """Set each database camera's focal length to the EXIF prior of its images (pixels)."""
    db = pycolmap.Database.open(str(database))
    try:
        priors = camera_focal_priors(
            ((im.name, im.camera_id) for im in db.read_all_images()), flight)
        for camera in db.read_all_cameras():
            if camera.camera_id not in priors:
                continue
            params = np.array(camera.params, dtype=np.float64)
            params[list(camera.focal_length_idxs())] = priors[camera.camera_id]
            camera.params = params
            camera.has_prior_focal_length = True
            db.update_camera(camera)
    finally:
        db.close()
    return priors


def nadir_fraction(flight: Flight) -> float | None:
    """Share of images whose DJI gimbal pitch is within NADIR_MAX_OFF_DEG of straight down."""
    pitches = [im.dji["gimbal_pitch"] for im in flight.images if "gimbal_pitch" in im.dji]
    if not pitches:
        return None
    return sum(abs(p + 90.0) <= NADIR_MAX_OFF_DEG for p in pitches) / len(pitches)


@dataclass(frozen=True)
class HeightCheck:
    """Camera height above the model's ground against DJI RelativeAltitude."""

    model_ground_m: float  # median z of the 3D points (ENU)
    expected_ground_m: float  # GPS altitude - RelativeAltitude, in ENU
    model_height_m: float  # median camera z - model ground
    expected_height_m: float  # median RelativeAltitude

    @property
    def ratio(self) -> float:
        """expected / model height: the factor the focal length is off by on a nadir flight."""
        return self.expected_height_m / self.model_height_m

    def to_dict(self) -> dict[str, float]:
        """JSON-ready figures."""
        return {"model_ground_m": self.model_ground_m, "expected_ground_m": self.expected_ground_m,
                "ground_difference_m": self.model_ground_m - self.expected_ground_m,
                "model_height_m": self.model_height_m,
                "expected_height_m": self.expected_height_m, "height_ratio": self.ratio}


def height_check(rec: pycolmap.Reconstruction, flight: Flight,
                 origin: Origin | None) -> HeightCheck | None:
    """Compare the model's ground with GPS altitude - RelativeAltitude (None without DJI tags)."""
    ground_alt = expected_ground_altitude(flight)
    rel = [im.dji["relative_altitude"] for im in flight.images if "relative_altitude" in im.dji]
    if origin is None or ground_alt is None or not rec.num_points3D():
        return None
    z = np.array([p.xyz[2] for p in rec.points3D.values()])
    cams = [c[2] for c in camera_centres(rec).values()]
    model_ground = float(np.median(z))
    model_height = float(np.median(cams)) - model_ground
    if model_height <= 0:
        return None
    return HeightCheck(model_ground, ground_alt - origin.alt, model_height, float(median(rel)))


def correct_focal_by_height(rec: pycolmap.Reconstruction, ratio: float,
                            max_iterations: int = 50) -> pycolmap.Reconstruction:
    """A copy of `rec` with every focal length scaled by `ratio`, the points moved to the
    matching depth, bundle adjustment re-run with the focal held fixed (not yet re-placed)."""
    rec = pycolmap.Reconstruction(rec)
    cam_z = float(np.median([c[2] for c in camera_centres(rec).values()]))
    for camera in rec.cameras.values():
        params = np.array(camera.params, dtype=np.float64)
        params[list(camera.focal_length_idxs())] *= ratio
        camera.params = params
    for point in rec.points3D.values():
        xyz = np.array(point.xyz)
        xyz[2] = cam_z + ratio * (xyz[2] - cam_z)  # depth scales with focal, ground stays put
        point.xyz = xyz
    options = pycolmap.BundleAdjustmentOptions()
    options.refine_focal_length = False
    options.print_summary = False
    options.ceres.solver_options.max_num_iterations = max_iterations
    pycolmap.bundle_adjustment(rec, options)
    return rec


def try_focal_correction(rec: pycolmap.Reconstruction, ratio: float, gps_residual_m: float,
                         realign: Realign) -> tuple[pycolmap.Reconstruction | None,
                                                    dict[str, float]]:
    """The altitude-corrected model, or None when the images or the GPS contradict it (the
    reprojection error grows by more than 10 % + 0.05 px, or the mean GPS residual, from
    `gps_residual_m` to what `realign` finds, by more than 50 % + 0.25 m): the data decides,
    not the altitude alone."""
    candidate = correct_focal_by_height(rec, ratio)
    figures = {"ratio": ratio,
               "reprojection_before_px": float(rec.compute_mean_reprojection_error()),
               "reprojection_after_px": float(candidate.compute_mean_reprojection_error()),
               "gps_residual_before_m": gps_residual_m,
               "gps_residual_after_m": realign(candidate)}
    agrees = (figures["reprojection_after_px"] <= 1.1 * figures["reprojection_before_px"] + 0.05
              and figures["gps_residual_after_m"] <= 1.5 * figures["gps_residual_before_m"] + 0.25)
    return (candidate if agrees else None), figures


def focal_report(rec: pycolmap.Reconstruction, priors: dict[int, float],
                 tolerance: float) -> dict[str, Any]:
    """Per camera: final focal length, EXIF prior and their ratio; flags large disagreement."""
    cameras = {}
    for cid, camera in rec.cameras.items():
        focal = float(camera.mean_focal_length())
        prior = priors.get(cid)
        entry: dict[str, Any] = {"model": camera.model.name, "width": camera.width,
                                 "height": camera.height, "focal_px": focal,
                                 "prior_focal_px": prior,
                                 "params": [float(v) for v in camera.params]}
        if prior:
            entry["focal_over_prior"] = focal / prior
            entry["disagrees_with_prior"] = abs(focal / prior - 1.0) > tolerance
        cameras[str(cid)] = entry
    return cameras

