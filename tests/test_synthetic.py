"""The synthetic sample flight: deterministic, real EXIF/XMP, and geometry that agrees with itself."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image

from app.pipeline.errors import InputError, ProjectError
from app.pipeline.events import Progress
from app.pipeline.synthetic import generate_flight
from app.pipeline.synthetic.flight import survey
from app.pipeline.geodesy import enu_to_lla, lla_to_enu
from app.pipeline.synthetic.plan import plan_flight
from app.pipeline.synthetic.render import cast

SMALL = dict(n_images=6, seed=11, width=320, height=240)


@pytest.fixture(scope="module")
def small_flight(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6-image flight in a folder whose name has spaces and non-ASCII characters."""
    folder = tmp_path_factory.mktemp("synth") / "vol d'essai ü ñ"
    events = []
    summary = generate_flight(folder, emit=events.append, **SMALL)
    assert summary["images"] == 6 and summary["folder"] == str(folder)
    assert summary["width"] == 320 and summary["height"] == 240
    assert [e.fraction for e in events if isinstance(e, Progress)][-1] == 1.0
    return folder


def _truth(folder: Path) -> dict:
    return json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))


def _degrees(dms: tuple, ref: str) -> float:
    value = float(dms[0]) + float(dms[1]) / 60.0 + float(dms[2]) / 3600.0
    return -value if ref in ("S", "W") else value


def test_writes_one_jpeg_per_image_and_ground_truth_in_a_non_ascii_path(small_flight: Path):
    truth = _truth(small_flight)
    files = sorted(p.name for p in small_flight.glob("*.JPG"))
    assert files == [img["file"] for img in truth["images"]] and len(files) == 6
    for name in files:
        with Image.open(small_flight / name) as im:
            assert im.format == "JPEG" and im.size == (320, 240)
    assert truth["camera"]["model"] == "PINHOLE"
    assert set(truth["origin"]) == {"lat", "lon", "alt"}
    assert not list(small_flight.glob(".*.tmp"))  # atomic writes leave no temp files


def test_same_seed_gives_byte_identical_files_and_another_seed_differs(small_flight: Path,
                                                                       tmp_path: Path):
    again = tmp_path / "again"
    generate_flight(again, **SMALL)
    for path in sorted(small_flight.iterdir()):
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name
    other = tmp_path / "other"
    generate_flight(other, **{**SMALL, "seed": 12})
    assert (other / "SYN_0001.JPG").read_bytes() != (small_flight / "SYN_0001.JPG").read_bytes()
    with Image.open(other / "SYN_0001.JPG") as a, Image.open(small_flight / "SYN_0001.JPG") as b:
        assert np.abs(np.asarray(a, float) - np.asarray(b, float)).mean() > 10  # another scene


def test_exif_gps_reads_back_to_the_ground_truth_position_within_10_cm(small_flight: Path):
    truth = _truth(small_flight)
    times = []
    for img in truth["images"]:
        with Image.open(small_flight / img["file"]) as im:
            exif = im.getexif()
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        lat = _degrees(gps[ExifTags.GPS.GPSLatitude], gps[ExifTags.GPS.GPSLatitudeRef])
        lon = _degrees(gps[ExifTags.GPS.GPSLongitude], gps[ExifTags.GPS.GPSLongitudeRef])
        below = gps[ExifTags.GPS.GPSAltitudeRef] in (1, b"\x01")  # Pillow reads BYTE as bytes
        alt = float(gps[ExifTags.GPS.GPSAltitude]) * (-1 if below else 1)
        o = truth["origin"]
        enu = lla_to_enu([lat, lon, alt], o["lat"], o["lon"], o["alt"])[0]
        assert np.linalg.norm(enu - np.array(img["position_enu"])) < 0.1
        assert (exif[ExifTags.Base.Make], exif[ExifTags.Base.Model]) == ("Spaceport", "SynthCam 1")
        assert (sub[ExifTags.Base.ExifImageWidth], sub[ExifTags.Base.ExifImageHeight]) == (320, 240)
        focal_px = float(sub[ExifTags.Base.FocalLength]) * float(
            sub[ExifTags.Base.FocalPlaneXResolution]) / 10.0  # resolution unit is cm
        assert focal_px == pytest.approx(truth["camera"]["fx"], rel=1e-3)
        assert sub[ExifTags.Base.FocalLengthIn35mmFilm] == truth["camera"]["focal_length_35mm"]
        times.append(sub[ExifTags.Base.DateTimeOriginal])
    assert times == sorted(times) and len(set(times)) == len(times)


def test_dji_xmp_carries_altitudes_and_gimbal_angles_as_dji_writes_them(small_flight: Path):
    truth = _truth(small_flight)
    takeoff_z = truth["scene"]["takeoff_enu"][2]
    for img in truth["images"]:
        raw = (small_flight / img["file"]).read_bytes()
        at = raw.find(b"http://ns.adobe.com/xap/1.0/\x00")
        assert at > 0 and raw[at - 4:at - 2] == b"\xff\xe1"  # in an APP1 segment
        with Image.open(small_flight / img["file"]) as im:
            xmp = im.info["xmp"].decode("utf-8")
        tags = dict(re.findall(r'drone-dji:(\w+)="([^"]*)"', xmp))
        for key in ("RelativeAltitude", "AbsoluteAltitude", "GimbalPitchDegree",
                    "GimbalYawDegree", "GimbalRollDegree", "FlightYawDegree"):
            assert re.fullmatch(r"[+-]\d+\.\d\d", tags[key]), (key, tags[key])
        assert float(tags["RelativeAltitude"]) == pytest.approx(
            img["position_enu"][2] - takeoff_z, abs=0.01)
        assert float(tags["AbsoluteAltitude"]) == pytest.approx(img["alt"], abs=0.01)
        assert -90.0 <= float(tags["GimbalPitchDegree"]) <= -87.0
        assert float(tags["GimbalYawDegree"]) == pytest.approx(img["gimbal_deg"]["yaw"], abs=0.01)
        forward = np.array(img["R_cam_from_world"])[2]  # the optical axis in ENU
        assert forward[2] < -0.99  # near nadir


def test_geodesy_round_trips_and_matches_the_length_of_a_degree():
    origin = {"lat": 50.8198, "lon": -0.1372, "alt": 45.0}
    enu = np.array([[120.0, -80.0, 85.0], [-2500.0, 3000.0, -20.0]])
    o = tuple(origin.values())
    back = lla_to_enu(enu_to_lla(enu, *o), *o)
    assert np.abs(back - enu).max() < 1e-6
    north = lla_to_enu([o[0] + 0.001, o[1], o[2]], *o)[0]
    assert north[1] == pytest.approx(111.25, abs=0.1)  # 1e-3 degree of latitude at 50.8 N
    east = lla_to_enu([o[0], o[1] + 0.001, o[2]], *o)[0]
    assert east[0] == pytest.approx(70.45, abs=0.1)


@pytest.mark.parametrize("n_images,width,height", [(12, 640, 480), (24, 1024, 768), (7, 400, 300)])
def test_planned_overlap_is_between_70_and_80_percent(n_images: int, width: int, height: int):
    plan = plan_flight(n_images, width, height, np.random.default_rng(0))
    forward, side = plan.overlap(plan.agl_m)
    assert 0.70 <= forward <= 0.80 and 0.70 <= side <= 0.80
    assert len(plan.shots) == n_images
    strips = sorted({s.strip for s in plan.shots})
    headings = [next(s.flight_yaw_deg for s in plan.shots if s.strip == k) for k in strips]
    assert all(abs(a - b) == 180.0 for a, b in zip(headings, headings[1:]))  # alternating


def test_ground_truth_overlap_figures_are_between_70_and_80_percent(small_flight: Path):
    scene = _truth(small_flight)["scene"]
    assert 0.70 <= scene["overlap_forward"] <= 0.80 and 0.70 <= scene["overlap_side"] <= 0.80
    assert 60.0 <= scene["flight_height_agl_m"] <= 100.0
    assert scene["terrain_range_m"][1] - scene["terrain_range_m"][0] > 3.0  # it has relief


def _project(img: dict, camera: dict, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates of world points in an image, and whether they fall inside it."""
    cam = pts @ np.array(img["R_cam_from_world"]).T + np.array(img["t"])
    u = camera["fx"] * cam[:, 0] / cam[:, 2] + camera["cx"]
    v = camera["fy"] * cam[:, 1] / cam[:, 2] + camera["cy"]
    inside = (cam[:, 2] > 0) & (u >= 0) & (u < camera["width"]) & (v >= 0) & (v < camera["height"])
    return np.stack([u, v], -1), inside


def test_points_seen_in_one_photo_reproject_where_the_next_photo_shows_them(small_flight: Path):
    truth = _truth(small_flight)
    camera, images = truth["camera"], truth["images"]
    plan, world = survey(**{"n_images": 6, "seed": 11, "width": 320, "height": 240})
    a, b = images[0], images[1]  # consecutive shots on the first strip
    hits = cast(world, plan.camera, np.array(a["R_cam_from_world"]),
                np.array(a["position_enu"]))
    pts = hits.points[::4, ::4].reshape(-1, 3)
    uv, inside = _project(b, camera, pts)
    assert inside.mean() == pytest.approx(truth["scene"]["overlap_forward"], abs=0.06)
    with Image.open(small_flight / a["file"]) as ia, Image.open(small_flight / b["file"]) as ib:
        rgb_a = np.asarray(ia, float)[::4, ::4].reshape(-1, 3)[inside]
        rgb_b = np.asarray(ib, float)
    ij = np.floor(uv[inside]).astype(int)
    same = np.abs(rgb_b[ij[:, 1], ij[:, 0]] - rgb_a).mean()
    shifted = np.clip(ij + 12, 0, [camera["width"] - 1, camera["height"] - 1])
    elsewhere = np.abs(rgb_b[shifted[:, 1], shifted[:, 0]] - rgb_a).mean()
    assert same < 0.5 * elsewhere  # the pose in ground truth is the pose the photo was taken from


def test_side_overlap_reprojects_into_the_neighbouring_strip(small_flight: Path):
    truth = _truth(small_flight)
    camera, images = truth["camera"], truth["images"]
    plan, world = survey(**{"n_images": 6, "seed": 11, "width": 320, "height": 240})
    a = images[0]
    neighbours = [img for img in images if img["strip"] == a["strip"] + 1]
    b = min(neighbours, key=lambda img: abs(img["position_enu"][1] - a["position_enu"][1]))
    hits = cast(world, plan.camera, np.array(a["R_cam_from_world"]), np.array(a["position_enu"]))
    _, inside = _project(b, camera, hits.points[::4, ::4].reshape(-1, 3))
    along_offset = abs(b["position_enu"][1] - a["position_enu"][1])
    along_footprint = camera["height"] * truth["scene"]["flight_height_agl_m"] / camera["fy"]
    expected = truth["scene"]["overlap_side"] * (1 - along_offset / along_footprint)
    assert inside.mean() == pytest.approx(expected, abs=0.07)


def test_bad_arguments_raise_an_input_error_with_a_hint(tmp_path: Path):
    with pytest.raises(InputError, match="at least one image") as info:
        generate_flight(tmp_path / "x", n_images=0)
    assert info.value.hint
    with pytest.raises(InputError, match="out of range"):
        generate_flight(tmp_path / "y", n_images=2, width=10, height=10)
    assert not (tmp_path / "x").exists()


def test_rays_stop_on_the_terrain_surface_or_on_a_building():
    plan, world = survey(n_images=4, seed=5, width=200, height=150)
    shot = plan.shots[1]
    hits = cast(world, plan.camera, shot.R, shot.position)
    ground = hits.building < 0
    pts = hits.points[ground]
    height = world.terrain.sample(pts[:, 0], pts[:, 1])
    assert np.abs(pts[:, 2] - height).max() < 0.05  # metres
    assert ground.mean() > 0.5 and (~ground).any()  # mostly ground, some buildings in view
    on_building = hits.points[~ground]
    assert (on_building[:, 2] > world.terrain.sample(on_building[:, 0], on_building[:, 1])
            - 1.0).all()


def test_an_output_path_that_is_a_file_fails_with_a_clear_message(tmp_path: Path):
    from app.cli import main

    blocker = tmp_path / "not a folder.txt"
    blocker.write_text("keep me")
    with pytest.raises(ProjectError, match="Cannot create the sample flight folder"):
        generate_flight(blocker / "flight", n_images=2, width=64, height=64)
    assert main(["sample-flight", str(blocker), "--images", "2"]) != 0
    assert blocker.read_text() == "keep me"


def test_regenerating_a_shorter_flight_in_the_same_folder_leaves_no_stale_images(tmp_path: Path):
    generate_flight(tmp_path, n_images=3, width=96, height=72)
    generate_flight(tmp_path, n_images=2, width=96, height=72)
    assert sorted(p.name for p in tmp_path.glob("*.JPG")) == ["SYN_0001.JPG", "SYN_0002.JPG"]
    assert len(_truth(tmp_path)["images"]) == 2


def test_gps_errors_change_what_the_exif_says_never_the_photos(tmp_path: Path):
    from app.cli import main

    assert main(["sample-flight", str(tmp_path / "noisy"), "--images", "6", "--seed", "11",
                 "--width", "320", "--height", "240", "--gps", "consumer", "--gps-sigma", "6",
                 "--gps-missing", "0.34"]) == 0
    truth = _truth(tmp_path / "noisy")
    assert truth["gps_errors"]["horizontal_sigma_m"] == 6.0
    assert truth["gps_errors"]["relative_altitude"] is False
    images = truth["images"]
    assert sum(im["gps_written"] is None for im in images) == 2
    errors = np.array([im["gps_error_enu"] for im in images if im["gps_error_enu"]])
    assert np.linalg.norm(errors[:, :2], axis=1).mean() > 2.0
    assert errors[:, 2].mean() > 10.0  # the consumer preset's altitude offset (+25 m) shows
    first = next(im for im in images if im["gps_written"])
    with Image.open(tmp_path / "noisy" / first["file"]) as im:
        exif, xmp = im.getexif(), im.info["xmp"].decode()
        pixels = np.asarray(im)
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    lat = _degrees(gps[ExifTags.GPS.GPSLatitude], gps[ExifTags.GPS.GPSLatitudeRef])
    assert lat == pytest.approx(first["gps_written"]["lat"], abs=1e-7) != first["lat"]
    assert "RelativeAltitude" not in xmp
    generate_flight(tmp_path / "exact", **SMALL)  # the same flight with exact GPS
    with Image.open(tmp_path / "exact" / first["file"]) as exact:
        assert np.array_equal(np.asarray(exact), pixels)
