"""Flight geometry from image positions: extent, height, ground sampling distance and overlap.

Positions are projected to local east/north metres about the flight's first position by the
project's one WGS84 <-> ENU conversion (app/pipeline/geodesy.py).
"""

from __future__ import annotations

import math
from statistics import median
from typing import Any

import numpy as np

from ..geodesy import lla_to_enu


def local_enu(images: list[dict[str, Any]]) -> np.ndarray:
    """(N,3) east/north/up metres of each image's GPS position about the first one's lat/lon
    (up about 0 m; images without a GPS altitude get up = nan)."""
    lla = np.array([[im["gps"]["lat"], im["gps"]["lon"],
                     np.nan if im["gps"]["alt"] is None else im["gps"]["alt"]] for im in images],
                   dtype=np.float64).reshape(-1, 3)
    enu = lla_to_enu(np.nan_to_num(lla), lla[0, 0], lla[0, 1], 0.0)
    enu[np.isnan(lla[:, 2]), 2] = np.nan
    return enu


def local_xy(images: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """East/north metres of each image's GPS position relative to the first one."""
    return [(float(e), float(n)) for e, n in local_enu(images)[:, :2]]


def extent(images: list[dict[str, Any]]) -> dict[str, float] | None:
    """East-west and north-south size of the flight and its path length, in metres."""
    if len(images) < 2:
        return None
    xy = local_xy(images)
    xs, ys = [p[0] for p in xy], [p[1] for p in xy]
    path = sum(math.dist(a, b) for a, b in zip(xy, xy[1:]))
    return {"east_west_m": max(xs) - min(xs), "north_south_m": max(ys) - min(ys),
            "path_length_m": path}


def altitude(images: list[dict[str, Any]]) -> dict[str, Any]:
    """Range of GPS altitude (above sea level) and of DJI relative altitude (above take-off)."""
    gps = [im["gps"]["alt"] for im in images if im["gps"] and im["gps"]["alt"] is not None]
    rel = [im["dji"]["relative_altitude"] for im in images
           if im["dji"] and "relative_altitude" in im["dji"]]
    return {"gps_m": _range(gps), "relative_m": _range(rel)}


def _range(values: list[float]) -> dict[str, float] | None:
    return {"min": min(values), "max": max(values), "median": median(values)} if values else None


NADIR_PITCH_DEG = -70.0  # gimbal pitch at or below this counts as looking straight down


def is_nadir(image: dict[str, Any]) -> bool:
    """True unless the DJI gimbal pitch says the camera looked obliquely (no pitch: assume nadir)."""
    pitch = (image["dji"] or {}).get("gimbal_pitch")
    return pitch is None or pitch <= NADIR_PITCH_DEG


def height_above_ground(image: dict[str, Any]) -> float | None:
    """Height of a nadir camera above the take-off point (DJI RelativeAltitude), if known and positive."""
    height = (image["dji"] or {}).get("relative_altitude")
    return height if height and height > 0 and is_nadir(image) else None


def ground_sampling_distance(images: list[dict[str, Any]]) -> dict[str, float] | None:
    """Median ground sampling distance (cm per pixel) of nadir images with height and focal length."""
    values = [height_above_ground(im) / im["focal_length_px"] * 100 for im in images
              if height_above_ground(im) and im["focal_length_px"]]
    return {"median": median(values), "min": min(values), "max": max(values)} if values else None


def forward_overlap(images: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Overlap of consecutive images' ground footprints along the direction of travel.

    The footprint of a nadir image is its pixel size times height / focal length; the camera's
    image-up direction points along the gimbal yaw (else the flight yaw; else it is assumed to
    point along the track). Pairs that did not move (hovering) are left out.
    """
    seq = [im for im in images if im["gps"] and height_above_ground(im) and im["focal_length_px"]]
    if len(seq) < 2:
        return None
    xy = local_xy(seq)
    overlaps, assumed = [], False
    for a, b, pa, pb in zip(seq, seq[1:], xy, xy[1:]):
        step = math.dist(pa, pb)
        if step < 0.05:
            continue
        ground_per_px = (height_above_ground(a) + height_above_ground(b)) / 2 / a["focal_length_px"]
        bearing = math.atan2(pb[0] - pa[0], pb[1] - pa[1])  # clockwise from north, like yaw
        yaw = _yaw(a)
        assumed |= yaw is None
        angle = bearing - math.radians(yaw) if yaw is not None else 0.0
        along = ground_per_px * (a["height"] * abs(math.cos(angle)) + a["width"] * abs(math.sin(angle)))
        overlaps.append(max(0.0, 1.0 - step / along))
    if not overlaps:
        return None
    ordered = sorted(overlaps)
    return {"median": median(ordered), "p10": ordered[len(ordered) // 10], "pairs": len(ordered),
            "assumed_heading": assumed}


def _yaw(image: dict[str, Any]) -> float | None:
    dji = image["dji"] or {}
    return dji.get("gimbal_yaw", dji.get("flight_yaw"))
