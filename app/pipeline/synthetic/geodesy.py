"""WGS84 geodetic <-> local ENU (east, north, up metres) about a fixed origin, both ways.

Hand-written because pyproj is not a dependency; the formulas are the standard ECEF route
(geodetic -> ECEF -> rotate into the origin's tangent frame) with Bowring's inverse.
"""

from __future__ import annotations

import numpy as np

_A = 6378137.0  # WGS84 semi-major axis (m)
_F = 1.0 / 298.257223563  # WGS84 flattening
_E2 = _F * (2.0 - _F)  # first eccentricity squared
_B = _A * (1.0 - _F)
_EP2 = (_A**2 - _B**2) / _B**2  # second eccentricity squared


def geodetic_to_ecef(lat: np.ndarray, lon: np.ndarray, alt: np.ndarray) -> np.ndarray:
    """Latitude/longitude (degrees) and ellipsoidal height (m) -> ECEF (..., 3) metres."""
    la, lo = np.radians(lat), np.radians(lon)
    n = _A / np.sqrt(1.0 - _E2 * np.sin(la) ** 2)
    return np.stack([(n + alt) * np.cos(la) * np.cos(lo),
                     (n + alt) * np.cos(la) * np.sin(lo),
                     (n * (1.0 - _E2) + alt) * np.sin(la)], axis=-1)


def ecef_to_geodetic(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ECEF (..., 3) metres -> (lat, lon degrees, ellipsoidal height m), Bowring's method."""
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    p = np.hypot(x, y)
    theta = np.arctan2(z * _A, p * _B)
    la = np.arctan2(z + _EP2 * _B * np.sin(theta) ** 3, p - _E2 * _A * np.cos(theta) ** 3)
    n = _A / np.sqrt(1.0 - _E2 * np.sin(la) ** 2)
    alt = p / np.cos(la) - n
    return np.degrees(la), np.degrees(np.arctan2(y, x)), alt


def _enu_rotation(lat0: float, lon0: float) -> np.ndarray:
    """Rows are the east, north and up unit vectors at the origin, in ECEF."""
    la, lo = np.radians(lat0), np.radians(lon0)
    return np.array([[-np.sin(lo), np.cos(lo), 0.0],
                     [-np.sin(la) * np.cos(lo), -np.sin(la) * np.sin(lo), np.cos(la)],
                     [np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]])


def enu_to_geodetic(enu: np.ndarray, origin: dict[str, float]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local ENU metres (..., 3) about origin {lat, lon, alt} -> (lat, lon, alt)."""
    o = geodetic_to_ecef(np.float64(origin["lat"]), np.float64(origin["lon"]),
                         np.float64(origin["alt"]))
    xyz = o + np.asarray(enu, dtype=np.float64) @ _enu_rotation(origin["lat"], origin["lon"])
    return ecef_to_geodetic(xyz)


def geodetic_to_enu(lat: np.ndarray, lon: np.ndarray, alt: np.ndarray,
                    origin: dict[str, float]) -> np.ndarray:
    """(lat, lon degrees, alt m) -> local ENU metres (..., 3) about origin {lat, lon, alt}."""
    o = geodetic_to_ecef(np.float64(origin["lat"]), np.float64(origin["lon"]),
                         np.float64(origin["alt"]))
    xyz = geodetic_to_ecef(np.asarray(lat, np.float64), np.asarray(lon, np.float64),
                           np.asarray(alt, np.float64))
    return (xyz - o) @ _enu_rotation(origin["lat"], origin["lon"]).T
