"""Georeferencing: the local ENU origin, geodetic <-> ENU, Sim3 alignment to GPS, GPS residuals."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np
import pycolmap

from .. import atomic, geodesy
from .flight import Flight

CRS = "local ENU (x east, y north, z up), metres, WGS84 ellipsoid"


@dataclass(frozen=True)
class Origin:
    """Where the local ENU frame sits on the WGS84 ellipsoid (altitude in metres)."""

    lat: float
    lon: float
    alt: float
    alt_reference: str  # what `alt` is: "ground (GPS altitude - DJI RelativeAltitude)" or ...

    def to_dict(self) -> dict[str, float]:
        """The geo.json `origin` block."""
        return {"lat": self.lat, "lon": self.lon, "alt": self.alt}


def choose_origin(flight: Flight) -> Origin | None:
    """Mean GPS position; altitude at the take-off ground when DJI RelativeAltitude is known."""
    gps = [im for im in flight.with_gps]
    if not gps:
        return None
    lat = float(np.mean([im.gps[0] for im in gps]))
    lon = float(np.mean([im.gps[1] for im in gps]))
    ground = expected_ground_altitude(flight)
    if ground is not None:
        return Origin(lat, lon, ground, "ground (GPS altitude - DJI RelativeAltitude)")
    return Origin(lat, lon, float(min(im.gps[2] for im in gps)), "lowest camera GPS altitude")


def expected_ground_altitude(flight: Flight) -> float | None:
    """Median of GPS altitude minus DJI RelativeAltitude (the take-off ground), if known."""
    values = [im.gps[2] - im.dji["relative_altitude"] for im in flight.with_gps
              if "relative_altitude" in im.dji]
    return float(median(values)) if values else None


def lla_to_enu(lla: np.ndarray, origin: Origin) -> np.ndarray:
    """(N,3) lat, lon, alt -> (N,3) east, north, up metres about `origin`."""
    return geodesy.lla_to_enu(lla, origin.lat, origin.lon, origin.alt)


def enu_to_lla(enu: np.ndarray, origin: Origin) -> np.ndarray:
    """(N,3) east, north, up metres about `origin` -> (N,3) lat, lon, alt."""
    return geodesy.enu_to_lla(enu, origin.lat, origin.lon, origin.alt)


def gps_targets(flight: Flight, origin: Origin) -> dict[str, np.ndarray]:
    """ENU position of every image with GPS, keyed by image name."""
    gps = flight.with_gps
    if not gps:
        return {}
    enu = lla_to_enu(np.array([im.gps for im in gps]), origin)
    return {im.file: enu[i] for i, im in enumerate(gps)}


def camera_centres(rec: pycolmap.Reconstruction) -> dict[str, np.ndarray]:
    """Projection centre of every registered image, keyed by name."""
    return {im.name: np.asarray(im.projection_center()) for im in rec.images.values()
            if im.has_pose}


def align_to_gps(rec: pycolmap.Reconstruction, targets: dict[str, np.ndarray],
                 max_error_m: float) -> bool:
    """Move `rec` into the ENU frame by a robust Sim3 fit of camera centres to GPS; False if
    fewer than three registered images have GPS or no fit was found."""
    names = [n for n in camera_centres(rec) if n in targets]
    if len(names) < 3:
        return False
    ransac = pycolmap.RANSACOptions()
    ransac.max_error = max_error_m
    ransac.random_seed = 0
    sim3 = pycolmap.align_reconstruction_to_locations(
        rec, names, np.array([targets[n] for n in names]), min_common_images=3,
        ransac_options=ransac)
    if sim3 is None:
        return False
    rec.transform(sim3)
    return True


@dataclass(frozen=True)
class GpsResiduals:
    """Distances between SfM camera centres and GPS positions after alignment."""

    per_image: dict[str, float]

    @property
    def mean(self) -> float:
        """Mean distance in metres (nan when no image has both)."""
        return float(np.mean(list(self.per_image.values()))) if self.per_image else float("nan")

    @property
    def max(self) -> float:
        """Largest distance in metres (nan when no image has both)."""
        return float(np.max(list(self.per_image.values()))) if self.per_image else float("nan")


def gps_residuals(rec: pycolmap.Reconstruction, targets: dict[str, np.ndarray]) -> GpsResiduals:
    """Per-image distance between camera centre and GPS target."""
    centres = camera_centres(rec)
    return GpsResiduals({n: float(np.linalg.norm(c - targets[n]))
                         for n, c in centres.items() if n in targets})


def write_geo_json(path: Path, origin: Origin | None, residuals: GpsResiduals | None,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write sfm/geo.json: origin, CRS, units and the GPS residuals; returns what it wrote."""
    data: dict[str, Any] = {
        "schema_version": 1,
        "georeferenced": origin is not None and residuals is not None,
        "origin": origin.to_dict() if origin else None,
        "origin_alt_reference": origin.alt_reference if origin else None,
        "crs": "ENU" if origin else "arbitrary (no GPS: not georeferenced)",
        "crs_description": CRS if origin else "the SfM model's own frame, unknown scale",
        "units": "m" if origin else "unknown",
        "ellipsoid": "WGS84",
    }
    if residuals is not None and residuals.per_image:
        data["gps_residual_m"] = {"mean": residuals.mean, "max": residuals.max,
                                  "images": len(residuals.per_image),
                                  "per_image": residuals.per_image}
    data.update(extra or {})
    atomic.write_json(path, data)
    return data
