"""Georeferencing weighted by the flight's measured GPS quality (ingest's `gps_quality`).

Which heights to trust comes from the assessment: DJI RelativeAltitude when present, the GPS
altitude when it is not unreliable, else the model's own vertical (its cameras look down);
the inlier radius starts from the assessed noise and is then re-read from the residuals.
The accuracy of position, scale, heading and height is estimated from the residuals, with
the number of independent GPS errors reduced by how much neighbouring errors agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pycolmap

from .flight import Flight
from .geo import Origin, camera_centres, choose_origin, expected_ground_altitude, lla_to_enu
from .settings import SfmSettings
from .similarity import Fit, fit

DEFAULT_SIGMA_H, DEFAULT_SIGMA_V = 3.0, 5.0  # when ingest did not assess the GPS
MODEL_HEIGHT_SIGMA_M = 1e3  # pose-prior sigma of a height the GPS cannot be trusted for
NADIR_SPREAD_DEG = 20.0  # cameras within this of their mean axis: the survey looks down
# a georeference worse than this (2 sigma) is stated in a warning
WARN_POSITION_M, WARN_HEIGHT_M, WARN_SCALE = 1.0, 2.0, 0.01


@dataclass(frozen=True)
class GpsTargets:
    """Where the GPS puts each image (ENU), in capture order, and how far to trust it."""

    names: list[str]
    xy: np.ndarray  # (N, 2)
    z: np.ndarray  # (N,) heights from `vertical_source` (nan where unknown)
    gps_z: np.ndarray  # (N,) GPS altitude - origin altitude (nan where not recorded)
    sigma_h: float
    sigma_v: float | None  # None: heights come from the model
    vertical_source: str  # relative_altitude | gps | model
    assessed_outliers: frozenset[str]

    def prior_positions(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """{name: (ENU position, 3x3 covariance)} for pose priors; an untrusted height is
        set to the flight's median and left free."""
        z = self.z if self.sigma_v is not None else \
            np.full(len(self.names), np.nanmedian(self.gps_z) if np.isfinite(self.gps_z).any()
                    else 0.0)
        sigma_v = self.sigma_v if self.sigma_v is not None else MODEL_HEIGHT_SIGMA_M
        cov = np.diag([self.sigma_h ** 2] * 2 + [sigma_v ** 2])
        return {n: (np.array([*self.xy[i], z[i] if np.isfinite(z[i]) else np.nanmedian(z)]),
                    cov) for i, n in enumerate(self.names)}


def gps_targets(flight: Flight, origin: Origin, settings: SfmSettings) -> GpsTargets | None:
    """The flight's GPS in the ENU frame of `origin`, weighted by the assessment (explicit
    sfm.gps_std_* settings override it)."""
    by_name = flight.by_name()
    order = [n for n in flight.capture_order if n in by_name] or flight.names
    located = [by_name[n] for n in order if by_name[n].gps is not None]
    if not located:
        return None
    lla = np.array([im.gps for im in located])
    enu = lla_to_enu(np.nan_to_num(lla), origin)
    gps_z = np.where(np.isfinite(lla[:, 2]), enu[:, 2], np.nan)
    quality = flight.gps_quality or {}
    sigma_h = settings.gps_std_horizontal_m or quality.get("sigma_horizontal_m") or \
        DEFAULT_SIGMA_H
    source = quality.get("vertical_source") or "gps"
    sigma_v = quality.get("sigma_vertical_m", DEFAULT_SIGMA_V)
    ground = expected_ground_altitude(flight)
    has_rel = ground is not None and all("relative_altitude" in im.dji for im in located)
    if settings.gps_std_vertical_m:
        source = "relative_altitude" if has_rel else "gps"
        sigma_v = settings.gps_std_vertical_m
    if source == "relative_altitude" and has_rel:
        z = np.array([im.dji["relative_altitude"] for im in located]) + (ground - origin.alt)
    else:
        source = "gps" if source == "relative_altitude" else source
        z = gps_z
    if source == "model":
        sigma_v = None
    outliers = set((quality.get("horizontal") or {}).get("outliers") or ())
    return GpsTargets([im.file for im in located], enu[:, :2], z, gps_z, float(sigma_h),
                      None if sigma_v is None else float(sigma_v), source, frozenset(outliers))


def model_up(rec: pycolmap.Reconstruction) -> np.ndarray:
    """The model's up direction: opposite the cameras' mean viewing direction on a survey
    that looks down, else the normal of the plane of the camera centres facing the cameras."""
    images = [im for im in rec.images.values() if im.has_pose]
    axes = np.array([im.cam_from_world().rotation.matrix()[2] for im in images])
    mean = axes.mean(axis=0)
    mean /= np.linalg.norm(mean)
    if np.degrees(np.arccos(np.clip(axes @ mean, -1, 1))).max() <= NADIR_SPREAD_DEG:
        return -mean
    centres = np.array([im.projection_center() for im in images])
    normal = np.linalg.svd(centres - centres.mean(axis=0))[2][-1]
    return normal if normal @ mean < 0 else -normal


@dataclass
class Georeference:
    """The model placed in ENU: origin, the fit, per-image residuals and accuracy."""

    origin: Origin
    targets: GpsTargets
    fit: Fit
    horizontal: dict[str, float]  # image -> horizontal distance to its GPS (m)
    vertical: dict[str, float]  # image -> height residual (m), where heights were used
    accuracy: dict[str, Any]

    @property
    def excluded(self) -> list[str]:
        """Images whose GPS was left out of the fit (outliers), in capture order."""
        names = [n for n in self.targets.names if n in self.horizontal]
        return [n for n, ok in zip(names, self.fit.inliers) if not ok]

    def geo_json(self) -> dict[str, Any]:
        """geo.json's residual and accuracy blocks."""
        h = list(self.horizontal.values())
        return {"gps_residual_m": {"mean": float(np.mean(h)), "max": float(np.max(h)),
                                   "images": len(h), "per_image": self.horizontal,
                                   "what": "horizontal distance, camera centre to GPS"},
                "gps_residual_vertical_m": {"per_image": self.vertical} if self.vertical
                else None,
                "gps_excluded": self.excluded, "vertical_source": self.targets.vertical_source,
                "accuracy": self.accuracy}

    def warning(self, verdicts: set[str]) -> str | None:
        """The accuracy the operator should know about, when the GPS is not good."""
        a = self.accuracy
        poor = verdicts - {"good", "unknown"} or 2 * a["position_m"] > WARN_POSITION_M or \
            2 * a["vertical_m"] > WARN_HEIGHT_M or 2 * a["scale"] > WARN_SCALE
        if not poor:
            return None
        height = f", height +-{2 * a['vertical_m']:.1f} m against the GPS altitude" \
            if np.isfinite(a["vertical_m"]) else ""
        return (f"georeference accuracy: position +-{2 * a['position_m']:.1f} m{height}, scale "
                f"+-{2 * a['scale']:.1%}, heading +-{2 * a['heading_deg']:.1f} deg (95 %, from "
                f"GPS residuals of {a['horizontal_rms_m']:.1f} m RMS over {a['images']} images; "
                f"heights from {self.targets.vertical_source.replace('_', ' ')})")


def georeference(rec: pycolmap.Reconstruction, flight: Flight, settings: SfmSettings
                 ) -> Georeference | None:
    """Move `rec` into the flight's ENU frame; None (rec untouched) when fewer than three
    registered images have GPS or no fit was found."""
    origin = choose_origin(flight)
    targets = gps_targets(flight, origin, settings) if origin else None
    if targets is None:
        return None
    return place(rec, origin, targets)


def place(rec: pycolmap.Reconstruction, origin: Origin, targets: GpsTargets
          ) -> Georeference | None:
    """Fit `rec` to `targets` and transform it; the residuals and accuracy of the result."""
    centres = camera_centres(rec)
    keep = [i for i, n in enumerate(targets.names) if n in centres]
    if len(keep) < 3:
        return None
    names = [targets.names[i] for i in keep]
    model = np.array([centres[n] for n in names])
    result = fit(model, targets.xy[keep], targets.z[keep], targets.sigma_h, targets.sigma_v,
                 model_up(rec))
    if result is None:
        return None
    sim = result.sim
    rec.transform(pycolmap.Sim3d(sim.scale, pycolmap.Rotation3d(sim.R), sim.t))
    res = result.residuals
    horizontal = {n: float(np.hypot(*res[i, :2])) for i, n in enumerate(names)}
    vertical = {n: float(res[i, 2]) for i, n in enumerate(names)
                if targets.sigma_v is not None and np.isfinite(res[i, 2])}
    gps_dz = targets.gps_z[keep] - sim.apply(model)[:, 2]
    return Georeference(origin, targets, result, horizontal, vertical,
                        accuracy(result, targets.xy[keep], gps_dz))


def effective_count(residuals: np.ndarray) -> float:
    """Independent errors among (N, D) residuals in capture order: N (1 - r) / (1 + r) with r
    their lag-1 autocorrelation (a slowly wandering GPS error counts as few)."""
    n = len(residuals)
    if n < 3:
        return float(max(n, 1))
    centred = residuals - residuals.mean(axis=0)
    denom = float(np.sum(centred ** 2))
    rho = float(np.sum(centred[1:] * centred[:-1]) / denom) if denom > 0 else 0.0
    rho = min(max(rho, 0.0), 0.98)
    return float(np.clip(n * (1 - rho) / (1 + rho), 1.0, n))


def accuracy(result: Fit, target_xy: np.ndarray, gps_dz: np.ndarray) -> dict[str, Any]:
    """1-sigma accuracy of the placement: position and height (m), scale (relative) and
    heading (degrees), from the inliers' residuals; a bias common to every GPS fix cannot be
    seen from the images and is not included."""
    inl = result.inliers
    r = result.residuals[inl, :2]
    n = int(inl.sum())
    sigma = float(np.sqrt(np.sum(r ** 2) / max(2 * n - 4, 1)))
    n_eff = effective_count(r)
    q = target_xy[inl]
    spread = float(np.sqrt(np.sum((q - q.mean(axis=0)) ** 2)))
    rotation = sigma / max(spread, 1e-9) * np.sqrt(n / n_eff)
    dz = gps_dz[inl][np.isfinite(gps_dz[inl])]
    height = float(np.std(dz) / np.sqrt(effective_count(dz[:, None]))) if len(dz) > 1 \
        else float("nan")
    return {"position_m": sigma / np.sqrt(n_eff), "vertical_m": height,
            "scale": float(rotation), "heading_deg": float(np.degrees(rotation)),
            "horizontal_rms_m": float(np.sqrt(np.mean(np.sum(r ** 2, axis=1)))),
            "images": n, "effective_images": n_eff, "inlier_radius_m": result.threshold_m,
            "sigma": 1, "note": "1 sigma, from the GPS residuals after alignment; a bias "
                                "common to every GPS fix cannot be seen from the images: the "
                                "height rests on the GPS altitude as recorded (often above sea "
                                "level rather than the WGS84 ellipsoid, and metres off on "
                                "consumer receivers)"}
