"""Distances, heights and geographic positions of picked points (the model is metric ENU when
the SfM stage georeferenced it: sfm/geo.json)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.pipeline import geodesy


@dataclass
class Georef:
    """What the SfM stage states about the frame the points are in."""

    origin: tuple[float, float, float] | None = None  # WGS84 lat, lon, alt of the ENU origin
    accuracy: str = ""  # how well the frame sits on the Earth, as the SfM stage measured it
    metric: bool = False  # units are metres

    @classmethod
    def from_geo_json(cls, doc: dict[str, Any] | None) -> "Georef":
        """From sfm/geo.json (None, or georeferenced false: an unreferenced model)."""
        if not doc or not doc.get("georeferenced") or not doc.get("origin"):
            return cls()
        o = doc["origin"]
        acc = doc.get("accuracy") or {}
        residual = doc.get("gps_residual_m") or {}
        accuracy = ""
        if acc.get("position_m") is not None:  # the SfM stage's 1-sigma placement accuracy
            vertical = acc.get("vertical_m")
            accuracy = (f"georeference accuracy (1 sigma): position {acc['position_m']:.2f} m"
                        + (f", height {vertical:.2f} m" if isinstance(vertical, (int, float))
                           and np.isfinite(vertical) else "")
                        + (f", scale {100 * acc['scale']:.2f} %" if acc.get("scale") is not None
                           else "") + "; heights rest on the GPS altitude as recorded")
        elif residual.get("mean") is not None:
            accuracy = (f"camera-to-GPS residual {residual['mean']:.2f} m mean, "
                        f"{residual['max']:.2f} m max over {residual.get('images', '?')} images")
        return cls((float(o["lat"]), float(o["lon"]), float(o["alt"])), accuracy, True)

    @property
    def units(self) -> str:
        """'m', or a warning when the scale is arbitrary."""
        return "m" if self.metric else "units (scale unknown: not georeferenced)"

    def lla(self, point: np.ndarray) -> tuple[float, float, float] | None:
        """Latitude, longitude (degrees) and altitude (m) of an ENU point, when referenced."""
        if self.origin is None:
            return None
        lat, lon, alt = geodesy.enu_to_lla(np.asarray(point, float), *self.origin)[0]
        return float(lat), float(lon), float(alt)


def describe_point(point: np.ndarray, georef: Georef) -> str:
    """'E 12.30, N -4.10, U 2.05 m' plus latitude/longitude/altitude when referenced."""
    e, n, u = (float(v) for v in point)
    if not georef.metric:
        return f"x {e:.3f}, y {n:.3f}, z {u:.3f} ({georef.units})"
    text = f"E {e:.2f}, N {n:.2f}, U {u:.2f} m"
    lla = georef.lla(point)
    if lla is not None:
        text += f"  |  {lla[0]:.7f}°, {lla[1]:.7f}°, {lla[2]:.2f} m (WGS84)"
    return text


def describe_distance(a: np.ndarray, b: np.ndarray, georef: Georef) -> str:
    """Distance, horizontal distance and height difference between two points."""
    delta = np.asarray(b, float) - np.asarray(a, float)
    unit = "m" if georef.metric else "units"
    text = (f"{np.linalg.norm(delta):.3f} {unit} (horizontal {np.linalg.norm(delta[:2]):.3f}, "
            f"height {delta[2]:+.3f})")
    if not georef.metric:
        text += ": scale unknown, the model is not georeferenced"
    return text
