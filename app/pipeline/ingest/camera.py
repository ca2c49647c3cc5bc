"""Focal length in pixels from EXIF: focal length and sensor size when known, else the 35 mm equivalent."""

from __future__ import annotations

import math

# Sensor widths (mm) of common survey drones' cameras, from the manufacturers' specifications;
# focal length (mm) / sensor width * image width is more precise than the rounded 35 mm equivalent.
SENSOR_WIDTH_MM = {
    ("DJI", "FC300S"): 6.17,  # Phantom 3 Professional, 1/2.3"
    ("DJI", "FC300X"): 6.17,  # Phantom 3 Advanced, 1/2.3"
    ("DJI", "FC330"): 6.17,  # Phantom 4, 1/2.3"
    ("DJI", "FC220"): 6.17,  # Mavic Pro, 1/2.3"
    ("DJI", "FC6310"): 13.2,  # Phantom 4 Pro, 1"
    ("DJI", "FC6310S"): 13.2,  # Phantom 4 Pro V2.0, 1"
    ("Hasselblad", "L1D-20c"): 13.2,  # Mavic 2 Pro, 1"
    ("DJI", "FC3411"): 13.2,  # Air 2S, 1"
}
FULL_FRAME_WIDTH_MM = 36.0
RESOLUTION_UNIT_MM = {2: 25.4, 3: 10.0, 4: 1.0, 5: 0.001}  # EXIF FocalPlaneResolutionUnit -> mm


def focal_length_px(width: int | None, height: int | None, focal_mm: float | None,
                    focal_35mm: float | None, make: str | None, model: str | None,
                    plane_x_resolution: float | None = None, plane_unit: int | None = None) -> float | None:
    """Focal length in pixels of the image's longer side, or None when EXIF does not tell it."""
    if not width or not height:
        return None
    long_side = max(width, height)
    sensor_mm = SENSOR_WIDTH_MM.get((make or "", model or ""))
    if focal_mm and sensor_mm:
        value = focal_mm / sensor_mm * long_side
    elif focal_mm and plane_x_resolution and plane_unit in RESOLUTION_UNIT_MM:
        value = focal_mm * plane_x_resolution / RESOLUTION_UNIT_MM[plane_unit]
    elif focal_35mm:  # rounded to whole mm by cameras: the least precise estimate
        value = focal_35mm / FULL_FRAME_WIDTH_MM * long_side
    else:
        return None
    return value if math.isfinite(value) else None  # absurd EXIF values can overflow
