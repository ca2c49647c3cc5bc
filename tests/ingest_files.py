"""Makers of small flight images (good and bad) for the ingest tests, written with Pillow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image
from PIL.ExifTags import GPS, IFD, Base
from PIL.TiffImagePlugin import IFDRational

from app.pipeline.geodesy import enu_to_lla

ORIGIN = (46.8426, -91.9945)  # lat, lon of the test flights
HEIGHT_M = 40.0


def dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    """EXIF degrees/minutes/seconds rationals of a non-negative angle."""
    deg = int(value)
    minutes = int((value - deg) * 60)
    seconds = ((value - deg) * 60 - minutes) * 60
    return IFDRational(deg), IFDRational(minutes), IFDRational(round(seconds * 10000), 10000)


def make_jpeg(path: Path, *, lat: float | None = ORIGIN[0], lon: float | None = ORIGIN[1],
              alt: float = 200.0, make: str = "DJI", model: str = "FC300S",
              size: tuple[int, int] = (96, 54), time: str = "2024:05:01 10:00:00",
              gps: dict[int, Any] | None = None, relative_altitude: float | None = HEIGHT_M,
              yaw: float = 0.0, pitch: float = -90.0, seed: int = 0) -> Path:
    """A JPEG with EXIF camera, time and GPS (override GPS tags with `gps`) and DJI XMP."""
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.effect_noise(size, 40 + seed).convert("RGB")
    exif = Image.Exif()
    exif[Base.Make], exif[Base.Model] = make, model
    sub = exif.get_ifd(IFD.Exif)
    sub[Base.FocalLength] = IFDRational(361, 100)
    sub[Base.FocalLengthIn35mmFilm] = 20
    sub[Base.DateTimeOriginal] = time
    tags = exif.get_ifd(IFD.GPSInfo)
    if lat is not None and lon is not None:
        tags.update({GPS.GPSLatitudeRef: "N" if lat >= 0 else "S", GPS.GPSLatitude: dms(abs(lat)),
                     GPS.GPSLongitudeRef: "E" if lon >= 0 else "W", GPS.GPSLongitude: dms(abs(lon)),
                     GPS.GPSAltitudeRef: b"\x00", GPS.GPSAltitude: IFDRational(round(alt * 100), 100)})
    tags.update(gps or {})
    xmp = None
    if relative_altitude is not None:
        xmp = (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
               f'xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" '
               f'drone-dji:RelativeAltitude="+{relative_altitude:.2f}" '
               f'drone-dji:GimbalPitchDegree="{pitch:.1f}" drone-dji:GimbalYawDegree="{yaw:+.1f}" '
               f'/></rdf:RDF></x:xmpmeta>').encode()
    im.save(path, exif=exif, **({"xmp": xmp} if xmp else {}))
    return path


def make_flight(folder: Path, n: int = 5, step_m: float = 10.0, **kwargs: Any) -> list[Path]:
    """`n` JPEGs flown north in a line, `step_m` apart, one second apart (`kwargs` go to make_jpeg)."""
    paths = []
    for i in range(n):
        position = {"lat": float(enu_to_lla([0.0, i * step_m, 0.0], *ORIGIN, 0.0)[0, 0])}
        position.update(kwargs)
        paths.append(make_jpeg(folder / f"IMG_{i:04d}.JPG", seed=i,
                               time=f"2024:05:01 10:00:{i:02d}", **position))
    return paths
