"""Writes a rendered frame as a JPEG with the EXIF and DJI XMP a real drone photo carries."""

from __future__ import annotations

import io
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

from ..atomic import write_bytes

MAKE, MODEL = "Spaceport", "SynthCam 1"
JPEG_QUALITY = 92

_XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="DJI Meta Data"
    xmlns:tiff="http://ns.adobe.com/tiff/1.0/"
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/"
    tiff:Make="{make}"
    tiff:Model="{model}"
    xmp:CreateDate="{date}"{dji}/>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def dji_number(value: float) -> str:
    """A number as DJI's XMP writes it: explicit sign, two decimals ("+80.00", "-90.00")."""
    return f"{value:+.2f}"


def _rational(value: float, denominator: int) -> IFDRational:
    return IFDRational(Fraction(round(value * denominator), denominator))


def _dms(degrees: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    """Unsigned degrees -> EXIF (degrees, minutes, seconds) rationals, seconds to 1e-6."""
    d = int(degrees)
    m = int((degrees - d) * 60.0)
    s = (degrees - d - m / 60.0) * 3600.0
    return IFDRational(d, 1), IFDRational(m, 1), _rational(s, 1_000_000)


def build_exif(*, gps: tuple[float, float, float] | None, when: datetime, width: int,
               height: int, focal_mm: float, focal_35mm: int, px_per_mm: float) -> Image.Exif:
    """EXIF with camera, time, image size, focal lengths and GPS (lat, lon in signed degrees,
    alt in metres; no GPS block when `gps` is None)."""
    exif = Image.Exif()
    stamp = when.strftime("%Y:%m:%d %H:%M:%S")
    exif[ExifTags.Base.Make] = MAKE
    exif[ExifTags.Base.Model] = MODEL
    exif[ExifTags.Base.DateTime] = stamp
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.DateTimeOriginal] = stamp
    sub[ExifTags.Base.DateTimeDigitized] = stamp
    sub[ExifTags.Base.ExifImageWidth] = width
    sub[ExifTags.Base.ExifImageHeight] = height
    sub[ExifTags.Base.FocalLength] = _rational(focal_mm, 100)
    sub[ExifTags.Base.FocalLengthIn35mmFilm] = focal_35mm
    sub[ExifTags.Base.FocalPlaneXResolution] = _rational(px_per_mm * 10.0, 1000)
    sub[ExifTags.Base.FocalPlaneYResolution] = _rational(px_per_mm * 10.0, 1000)
    sub[ExifTags.Base.FocalPlaneResolutionUnit] = 3  # centimetres
    if gps is None:
        return exif
    lat, lon, alt = gps
    tags = exif.get_ifd(ExifTags.IFD.GPSInfo)
    tags[ExifTags.GPS.GPSVersionID] = b"\x02\x03\x00\x00"
    tags[ExifTags.GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
    tags[ExifTags.GPS.GPSLatitude] = _dms(abs(lat))
    tags[ExifTags.GPS.GPSLongitudeRef] = "E" if lon >= 0 else "W"
    tags[ExifTags.GPS.GPSLongitude] = _dms(abs(lon))
    tags[ExifTags.GPS.GPSAltitudeRef] = 0 if alt >= 0 else 1  # 0: above the ellipsoid/sea level
    tags[ExifTags.GPS.GPSAltitude] = _rational(abs(alt), 1000)
    return exif


def build_xmp(*, when: datetime, abs_alt: float | None, rel_alt: float | None,
              gimbal_yaw: float, gimbal_pitch: float, flight_yaw: float,
              gimbal_roll: float = 0.0, flight_roll: float = 0.0, flight_pitch: float = 0.0,
              extra: dict[str, float] | None = None) -> bytes:
    """A DJI-style XMP packet (drone-dji:* attributes) as UTF-8 bytes; altitudes given as
    None are left out, `extra` tags (e.g. RTK) are written as given."""
    tags = {"AbsoluteAltitude": abs_alt, "RelativeAltitude": rel_alt,
            "GimbalRollDegree": gimbal_roll, "GimbalYawDegree": gimbal_yaw,
            "GimbalPitchDegree": gimbal_pitch, "FlightRollDegree": flight_roll,
            "FlightYawDegree": flight_yaw, "FlightPitchDegree": flight_pitch}
    dji = "".join(f'\n    drone-dji:{k}="{dji_number(v)}"' for k, v in tags.items() if v is not None)
    dji += "".join(f'\n    drone-dji:{k}="{v}"' for k, v in (extra or {}).items())
    return _XMP.format(make=MAKE, model=MODEL, date=when.strftime("%Y-%m-%dT%H:%M:%S"),
                       dji=dji).encode("utf-8")


def write_jpeg(path: Path, rgb: np.ndarray, exif: Image.Exif, xmp: bytes) -> int:
    """Encode `rgb` as a JPEG with EXIF and XMP and write it atomically; returns its size."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=JPEG_QUALITY, exif=exif.tobytes(),
                              xmp=xmp)
    write_bytes(path, buf.getvalue())
    return buf.tell()
