"""DJI flight and gimbal tags from an image's XMP packet (drone-dji:RelativeAltitude, ...)."""

from __future__ import annotations

import math
import re
from typing import Any

# flight.json key for each drone-dji tag
DJI_KEYS = {
    "RelativeAltitude": "relative_altitude",
    "AbsoluteAltitude": "absolute_altitude",
    "GimbalPitchDegree": "gimbal_pitch",
    "GimbalYawDegree": "gimbal_yaw",
    "GimbalRollDegree": "gimbal_roll",
    "FlightYawDegree": "flight_yaw",
    "FlightPitchDegree": "flight_pitch",
    "FlightRollDegree": "flight_roll",
    "RtkFlag": "rtk_flag",  # 50: RTK fixed, 34: float, 16: single point, 0: none
    "RtkStdLon": "rtk_std_lon",  # metres, 1 sigma
    "RtkStdLat": "rtk_std_lat",
    "RtkStdHgt": "rtk_std_hgt",
}
# DJI firmware writes XMP that is not always well-formed XML (undeclared prefixes), so the tags are
# matched directly, in both the attribute form and the element form XMP allows.
_ATTRIBUTE = re.compile(rb'drone-dji:(\w+)\s*=\s*"([^"]*)"')
_ELEMENT = re.compile(rb"<drone-dji:(\w+)>([^<]*)</drone-dji:\1>")


def dji_tags(xmp: Any) -> dict[str, float]:
    """The DJI tags present in an XMP packet (bytes or str), as floats keyed as in flight.json."""
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8", "replace")
    if not isinstance(xmp, bytes) or b"drone-dji" not in xmp:
        return {}
    tags: dict[str, float] = {}
    for name, value in _ATTRIBUTE.findall(xmp) + _ELEMENT.findall(xmp):
        key = DJI_KEYS.get(name.decode("ascii"))
        try:
            number = float(value.strip())
        except ValueError:
            continue
        if key and math.isfinite(number):
            tags[key] = number
    return tags
