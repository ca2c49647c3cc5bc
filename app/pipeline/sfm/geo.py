"""The local ENU frame: its origin, geodetic <-> ENU, camera centres, and sfm/geo.json."""

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
    altitudes = [im.gps[2] for im in gps if np.isfinite(im.gps[2])]
    if not altitudes:
        return Origin(lat, lon, 0.0, "ellipsoid (no GPS altitude recorded)")
    return Origin(lat, lon, float(min(altitudes)), "lowest camera GPS altitude")


def expected_ground_altitude(flight: Flight) -> float | None:
    """Median of GPS altitude minus DJI RelativeAltitude (the take-off ground), if known."""
    values = [im.gps[2] - im.dji["relative_altitude"] for im in flight.with_gps
              if "relative_altitude" in im.dji and np.isfinite(im.gps[2])]
    return float(median(values)) if values else None


def lla_to_enu(lla: np.ndarray, origin: Origin) -> np.ndarray:
    """(N,3) lat, lon, alt -> (N,3) east, north, up metres about `origin`."""
    return geodesy.lla_to_enu(lla, origin.lat, origin.lon, origin.alt)


def enu_to_lla(enu: np.ndarray, origin: Origin) -> np.ndarray:
    """(N,3) east, north, up metres about `origin` -> (N,3) lat, lon, alt."""
    return geodesy.enu_to_lla(enu, origin.lat, origin.lon, origin.alt)


def camera_centres(rec: pycolmap.Reconstruction) -> dict[str, np.ndarray]:
    """Projection centre of every registered image, keyed by name."""
    return {im.name: np.asarray(im.projection_center()) for im in rec.images.values()
            if im.has_pose}


def write_geo_json(path: Path, origin: Origin | None, extra: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    """Write sfm/geo.json: origin, CRS, units, and `extra` (residuals, accuracy); returns it."""
    data: dict[str, Any] = {
        "schema_version": 2,
        "georeferenced": origin is not None,
        "origin": origin.to_dict() if origin else None,
        "origin_alt_reference": origin.alt_reference if origin else None,
        "crs": "ENU" if origin else "arbitrary (no GPS: not georeferenced)",
        "crs_description": CRS if origin else "the SfM model's own frame, unknown scale",
        "units": "m" if origin else "unknown",
        "ellipsoid": "WGS84",
        **(extra or {}),
    }
    atomic.write_json(path, data)
    return data
