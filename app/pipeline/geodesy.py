"""WGS84 latitude/longitude/altitude <-> local ENU metres (east, north, up) about an origin.

One place for the conversion every stage uses (synthetic flight, SfM georeferencing), on
COLMAP's own GPSTransform rather than hand-written ellipsoid formulas.
"""

from __future__ import annotations

import numpy as np
import pycolmap


def _transform() -> pycolmap.GPSTransform:
    return pycolmap.GPSTransform(pycolmap.GPSTransformEllipsoid.WGS84)


def lla_to_enu(lla: np.ndarray, lat0: float, lon0: float, alt0: float) -> np.ndarray:
    """(N,3) latitude, longitude (degrees), altitude (m) -> (N,3) ENU metres about the origin."""
    lla = np.asarray(lla, dtype=np.float64).reshape(-1, 3)
    return _transform().ellipsoid_to_enu(lla, lat0, lon0, alt0)


def enu_to_lla(enu: np.ndarray, lat0: float, lon0: float, alt0: float) -> np.ndarray:
    """(N,3) ENU metres about the origin -> (N,3) latitude, longitude (degrees), altitude (m)."""
    enu = np.asarray(enu, dtype=np.float64).reshape(-1, 3)
    return _transform().enu_to_ellipsoid(enu, lat0, lon0, alt0)
