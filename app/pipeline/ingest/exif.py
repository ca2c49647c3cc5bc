"""Header-only reading of one image: format checks, EXIF camera/time/GPS fields and DJI XMP.

Pillow's `Image.open` is lazy: it parses the JPEG markers or TIFF IFDs up to the image data and
never decodes pixels, so reading a header costs well under a millisecond per file.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from PIL.ExifTags import GPS, IFD, Base

from .camera import focal_length_px
from .xmp import dji_tags

SUPPORTED_FORMATS = {"JPEG", "MPO", "TIFF"}  # MPO: DJI writes JPEGs with a multi-picture index
TAIL_BYTES = 4096  # how far from the end a JPEG's end-of-image marker may sit (padding, trailers)
DNG_VERSION_TAG = 50706
DNG_UNSUPPORTED = ("DNG (raw) images are not supported: raw sensor data cannot be decoded here -- "
                   "export JPEG or TIFF from your raw converter and ingest those")


class ImageProblem(Exception):
    """This file cannot be used; the message says why and what to do."""


def read_image(path: Path, rel: str, size: int) -> dict[str, Any]:
    """The flight.json entry of one image, read from its header; `usable` False with a reason."""
    entry: dict[str, Any] = {
        "file": rel, "usable": True, "reason": None, "format": None, "width": None,
        "height": None, "make": None, "model": None, "focal_length_mm": None,
        "focal_length_35mm": None, "focal_length_px": None, "timestamp": None, "gps": None,
        "gps_status": "missing", "gps_accuracy": None, "dji": None, "size_bytes": size,
        "warnings": [],
    }
    try:
        _read_into(entry, path, size)
    except ImageProblem as exc:
        entry["usable"], entry["reason"] = False, str(exc)
    return entry


def _read_into(entry: dict[str, Any], path: Path, size: int) -> None:
    if size == 0:
        raise ImageProblem("empty file (0 bytes) -- copy it again from the drone's memory card")
    with open(path, "rb") as f:
        try:
            im = Image.open(f)
            exif = im.getexif()
            exif_ifd, gps_ifd = exif.get_ifd(IFD.Exif), exif.get_ifd(IFD.GPSInfo)
        except UnidentifiedImageError:
            if path.suffix.lower() == ".dng":
                raise ImageProblem(DNG_UNSUPPORTED) from None
            raise ImageProblem("not an image: the content is not JPEG or TIFF (renamed or "
                               "corrupt file?) -- remove it from the flight folder") from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError) as exc:
            raise ImageProblem(f"corrupt or truncated header ({exc}) -- copy it again from the "
                               f"drone's memory card") from None
        entry["format"] = im.format
        entry["width"], entry["height"] = im.size
        _camera_fields(entry, exif, exif_ifd)
        _gps_fields(entry, gps_ifd)
        entry["dji"] = dji_tags(im.info.get("xmp")) or None
        if path.suffix.lower() == ".dng" or DNG_VERSION_TAG in exif:
            raise ImageProblem(DNG_UNSUPPORTED)
        if im.format not in SUPPORTED_FORMATS:
            raise ImageProblem(f"unsupported image format {im.format} -- convert it to JPEG")
        if im.format == "TIFF":
            _check_tiff_extent(im, size)
        else:
            _check_jpeg_end(f, size)


def _check_jpeg_end(f: Any, size: int) -> None:
    f.seek(max(0, size - TAIL_BYTES))
    if b"\xff\xd9" not in f.read(TAIL_BYTES):
        raise ImageProblem("truncated JPEG: the file stops before its end-of-image marker "
                           "(incomplete copy?) -- copy it again from the drone's memory card")


def _check_tiff_extent(im: Image.Image, size: int) -> None:
    tags = im.tag_v2
    for offsets_tag, counts_tag in ((273, 279), (324, 325)):  # strips, tiles
        offsets, counts = tags.get(offsets_tag), tags.get(counts_tag)
        if offsets and counts and max(o + c for o, c in zip(offsets, counts)) > size:
            raise ImageProblem("truncated TIFF: its image data runs past the end of the file "
                               "(incomplete copy?) -- copy it again from the drone's memory card")


def _camera_fields(entry: dict[str, Any], exif: Any, exif_ifd: Any) -> None:
    entry["make"] = _text(exif.get(Base.Make))
    entry["model"] = _text(exif.get(Base.Model))
    entry["focal_length_mm"] = _positive(exif_ifd.get(Base.FocalLength))
    entry["focal_length_35mm"] = _positive(exif_ifd.get(Base.FocalLengthIn35mmFilm))
    entry["focal_length_px"] = focal_length_px(
        entry["width"], entry["height"], entry["focal_length_mm"], entry["focal_length_35mm"],
        entry["make"], entry["model"], _positive(exif_ifd.get(Base.FocalPlaneXResolution)),
        exif_ifd.get(Base.FocalPlaneResolutionUnit))
    entry["timestamp"] = _timestamp(exif_ifd.get(Base.DateTimeOriginal) or exif.get(Base.DateTime),
                                    exif_ifd.get(Base.SubsecTimeOriginal),
                                    exif_ifd.get(Base.OffsetTimeOriginal))


def _gps_fields(entry: dict[str, Any], gps_ifd: Any) -> None:
    if GPS.GPSLatitude not in gps_ifd or GPS.GPSLongitude not in gps_ifd:
        return
    lat = _degrees(gps_ifd.get(GPS.GPSLatitude), gps_ifd.get(GPS.GPSLatitudeRef), "S")
    lon = _degrees(gps_ifd.get(GPS.GPSLongitude), gps_ifd.get(GPS.GPSLongitudeRef), "W")
    problem = None
    if lat is None or lon is None:
        problem = "GPS position is undefined (NaN or a 0/0 value)"
    elif lat == 0 and lon == 0:
        problem = "GPS position reads 0,0 (the drone had no GPS fix)"
    elif abs(lat) > 90 or abs(lon) > 180:
        problem = f"GPS position {lat:.6f},{lon:.6f} is out of range"
    if problem:
        entry["gps_status"] = "invalid"
        entry["warnings"].append(f"{problem}; GPS of this image ignored")
        return
    alt = _number(gps_ifd.get(GPS.GPSAltitude))
    if alt is not None and gps_ifd.get(GPS.GPSAltitudeRef) in (1, b"\x01", "\x01", "1"):
        alt = -alt  # below sea level
    entry["gps"] = {"lat": lat, "lon": lon, "alt": alt}
    entry["gps_status"] = "ok"
    accuracy = {"dop": _positive(gps_ifd.get(GPS.GPSDOP)),
                "h_error_m": _positive(gps_ifd.get(GPS.GPSHPositioningError))}
    entry["gps_accuracy"] = {k: v for k, v in accuracy.items() if v is not None} or None


def _degrees(dms: Any, ref: Any, negative: str) -> float | None:
    """Degrees from an EXIF (deg, min, sec) triple (or a single value) and its N/S/E/W ref."""
    parts = dms if isinstance(dms, tuple) else (dms,)
    values = [_number(p) for p in parts[:3]]
    if not values or any(v is None for v in values):
        return None
    deg = sum(v / 60 ** i for i, v in enumerate(values))
    return -deg if (_text(ref) or "").upper().startswith(negative) else deg


def _number(value: Any) -> float | None:
    """A finite float from an EXIF value (IFDRational with a zero denominator is NaN), else None."""
    if isinstance(value, tuple) and len(value) == 1:
        value = value[0]
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


def _positive(value: Any) -> float | None:
    number = _number(value)
    return number if number is not None and number > 0 else None


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value or None


def _timestamp(value: Any, subsec: Any, offset: Any) -> str | None:
    """ISO 8601 from EXIF 'YYYY:MM:DD HH:MM:SS' (+ sub-seconds and UTC offset when present)."""
    text = _text(value)
    try:
        stamp = datetime.strptime(text or "", "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    fraction = _text(subsec)
    if fraction and fraction.isdigit():
        stamp = stamp.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    iso = stamp.isoformat()
    zone = _text(offset)
    return iso + zone if zone and len(zone) == 6 and zone[0] in "+-" else iso
