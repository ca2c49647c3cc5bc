"""Reading one image's header: camera, time, GPS, DJI XMP, and the reasons a file is unusable."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from conftest import BRIGHTON, needs_brighton
from ingest_files import make_jpeg
from PIL import Image
from PIL.ExifTags import GPS
from PIL.TiffImagePlugin import IFDRational

from app.pipeline.ingest.camera import focal_length_px
from app.pipeline.ingest.duplicates import exact_duplicates
from app.pipeline.ingest.exif import read_image
from app.pipeline.ingest.scan import scan_flight
from app.pipeline.ingest.xmp import dji_tags


def read(path: Path) -> dict:
    return read_image(path, path.name, path.stat().st_size)


def test_reads_camera_time_gps_and_dji_tags_from_a_jpeg_header(tmp_path):
    entry = read(make_jpeg(tmp_path / "a.jpg", lat=-33.5, lon=-70.25, alt=512.5, yaw=-12.5))
    assert entry["usable"] and entry["reason"] is None
    assert (entry["width"], entry["height"], entry["make"], entry["model"]) == (96, 54, "DJI", "FC300S")
    assert entry["focal_length_mm"] == pytest.approx(3.61)
    assert entry["focal_length_35mm"] == 20
    assert entry["focal_length_px"] == pytest.approx(3.61 / 6.17 * 96)  # FC300S: 6.17 mm sensor
    assert entry["timestamp"] == "2024-05-01T10:00:00"
    assert entry["gps"]["lat"] == pytest.approx(-33.5, abs=1e-7)
    assert entry["gps"]["lon"] == pytest.approx(-70.25, abs=1e-7)
    assert entry["gps"]["alt"] == pytest.approx(512.5)
    assert entry["dji"] == {"relative_altitude": 40.0, "gimbal_pitch": -90.0, "gimbal_yaw": -12.5}


@needs_brighton()
def test_reads_a_real_dji_phantom_image():
    entry = read(BRIGHTON / "DJI_0018.JPG")
    assert entry["usable"], entry["reason"]
    assert (entry["make"], entry["model"], entry["width"], entry["height"]) == ("DJI", "FC300S", 4000, 2250)
    assert entry["gps"]["lat"] == pytest.approx(46.8426, abs=1e-3)
    assert entry["gps"]["lon"] == pytest.approx(-91.9946, abs=1e-3)
    assert entry["dji"]["relative_altitude"] == pytest.approx(39.8)
    assert entry["dji"]["gimbal_pitch"] == pytest.approx(-89.9)
    assert entry["focal_length_px"] == pytest.approx(3.61 / 6.17 * 4000)


@pytest.mark.parametrize("content, reason", [
    (b"", "empty file (0 bytes)"),
    (b"these are not the pixels you are looking for\n" * 20, "not an image"),
])
def test_empty_and_non_image_files_named_jpg_are_unusable(tmp_path, content, reason):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    entry = read(path)
    assert not entry["usable"] and reason in entry["reason"]


def test_a_jpeg_cut_short_is_unusable_as_truncated(tmp_path):
    good = make_jpeg(tmp_path / "good.jpg", size=(320, 240))
    data = good.read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "header_only.jpg").write_bytes(data[:300])
    assert "truncated JPEG" in read(tmp_path / "cut.jpg")["reason"]
    assert "truncated" in read(tmp_path / "header_only.jpg")["reason"]
    assert read(good)["usable"]


def test_a_tiff_cut_short_is_unusable_and_a_whole_one_is_read(tmp_path):
    Image.new("RGB", (200, 100)).save(tmp_path / "whole.tif")
    data = (tmp_path / "whole.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[: len(data) // 2])
    whole = read(tmp_path / "whole.tif")
    assert whole["usable"] and (whole["format"], whole["width"]) == ("TIFF", 200)
    assert "truncated TIFF" in read(tmp_path / "cut.tif")["reason"]


def test_a_png_named_jpg_and_a_dng_are_unsupported(tmp_path):
    Image.new("RGB", (20, 10)).save(tmp_path / "png.jpg", format="PNG")
    Image.new("RGB", (20, 10)).save(tmp_path / "raw.dng", format="TIFF")
    assert "unsupported image format PNG" in read(tmp_path / "png.jpg")["reason"]
    assert "DNG (raw) images are not supported" in read(tmp_path / "raw.dng")["reason"]


def test_exif_without_gps_is_usable_with_gps_missing(tmp_path):
    entry = read(make_jpeg(tmp_path / "a.jpg", lat=None, lon=None))
    assert entry["usable"] and entry["gps"] is None and entry["gps_status"] == "missing"


@pytest.mark.parametrize("tags, problem", [
    ({GPS.GPSLatitude: (IFDRational(0, 0), IFDRational(0, 0), IFDRational(0, 0))}, "undefined"),
    ({GPS.GPSLongitude: (IFDRational(7, 0), IFDRational(0), IFDRational(0))}, "undefined"),
    ({GPS.GPSLatitude: (IFDRational(0), IFDRational(0), IFDRational(0)),
      GPS.GPSLongitude: (IFDRational(0), IFDRational(0), IFDRational(0))}, "reads 0,0"),
])
def test_nan_zero_and_0_over_0_gps_is_ignored_with_a_warning(tmp_path, tags, problem):
    entry = read(make_jpeg(tmp_path / "a.jpg", gps=tags))
    assert entry["usable"] and entry["gps"] is None and entry["gps_status"] == "invalid"
    assert problem in entry["warnings"][0]


def test_a_0_over_0_altitude_keeps_the_position(tmp_path):
    entry = read(make_jpeg(tmp_path / "a.jpg", gps={GPS.GPSAltitude: IFDRational(0, 0)}))
    assert entry["gps"]["alt"] is None and entry["gps"]["lat"] == pytest.approx(46.8426, abs=1e-6)


def test_focal_length_px_from_sensor_size_then_35mm_equivalent_else_unknown():
    assert focal_length_px(4000, 2250, 3.61, 20, "DJI", "FC300S") == pytest.approx(3.61 / 6.17 * 4000)
    assert focal_length_px(4000, 3000, 8.0, 24, "X", "Y", 1000.0, 3) == pytest.approx(800.0)
    assert focal_length_px(4000, 2250, 3.61, 20, "X", "Y") == pytest.approx(20 / 36 * 4000)
    assert focal_length_px(2250, 4000, None, 20, "X", "Y") == pytest.approx(20 / 36 * 4000)
    assert focal_length_px(4000, 3000, 8.0, None, "X", "Y") is None
    assert focal_length_px(4000, 3000, None, 1e308, "X", "Y") is None


def test_gps_below_sea_level_has_negative_altitude(tmp_path):
    for ref in (1, b"\x01"):
        entry = read(make_jpeg(tmp_path / "a.jpg", alt=12.5, gps={GPS.GPSAltitudeRef: ref}))
        assert entry["gps"]["alt"] == pytest.approx(-12.5)


def test_dji_xmp_tags_in_attribute_and_element_form():
    xmp = (b'<rdf:Description drone-dji:RelativeAltitude="+39.80" drone-dji:FlightYawDegree="-7">'
           b"<drone-dji:GimbalPitchDegree>-89.9</drone-dji:GimbalPitchDegree>"
           b'<drone-dji:GimbalYawDegree>nan</drone-dji:GimbalYawDegree></rdf:Description>')
    assert dji_tags(xmp) == {"relative_altitude": 39.8, "flight_yaw": -7.0, "gimbal_pitch": -89.9}
    assert dji_tags(None) == {} and dji_tags(b"<x:xmpmeta/>") == {}


def test_duplicates_are_byte_identical_files_found_by_size_then_hash(tmp_path):
    a = make_jpeg(tmp_path / "a.jpg", seed=1)
    (tmp_path / "b_copy.jpg").write_bytes(a.read_bytes())
    os.link(a, tmp_path / "c_link.jpg")
    data = bytearray(a.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, same head and tail, different middle
    (tmp_path / "d_same_size.jpg").write_bytes(bytes(data))
    make_jpeg(tmp_path / "e_other.jpg", seed=2)
    groups = exact_duplicates(scan_flight(tmp_path).images)
    assert [[f.rel for f in g] for g in groups] == [["a.jpg", "b_copy.jpg", "c_link.jpg"]]


def test_hidden_files_are_skipped_and_subfolders_are_named_relative(tmp_path):
    make_jpeg(tmp_path / "DCIM" / "100MEDIA" / "x.jpg")
    (tmp_path / "._x.jpg").write_bytes(b"\0" * 10)
    (tmp_path / "notes.txt").write_text("hi")
    listing = scan_flight(tmp_path)
    assert [f.rel for f in listing.images] == ["DCIM/100MEDIA/x.jpg"]
    assert [f.rel for f in listing.others] == ["notes.txt"]
    assert math.isfinite(read(listing.images[0].path)["focal_length_px"])
