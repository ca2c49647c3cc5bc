"""Photos decoded at reduced size (libjpeg DCT scaling) for speed, with nothing lost: the
hand-off's undistortion lands every pixel where pycolmap's PINHOLE camera says it belongs, and
features extracted from reduced copies come back at the photos' full size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pycolmap
import pytest
from PIL import Image

from app.pipeline.sfm.flight import Flight, FlightImage
from app.pipeline.sfm.reduced_copies import needs_copies, restore_full_size, write_copies
from app.pipeline.sfm.undistort import undistort_image, undistorted_cameras
from app.pipeline.synthetic import generate_flight

SOURCE = pycolmap.Camera(model="SIMPLE_RADIAL", width=1600, height=1200,
                         params=[1300.0, 800.0, 600.0, -0.06])


def _blobs(centres: np.ndarray, size: tuple[int, int], sigma: float) -> np.ndarray:
    """A grey image with a Gaussian blob at each (x, y) (pixel centres at +0.5)."""
    ys, xs = np.mgrid[0:size[1], 0:size[0]] + 0.5
    img = np.zeros(size[::-1])
    for x, y in centres:
        img += np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma ** 2))
    return np.clip(img * 255, 0, 255).astype(np.uint8)


def _centroid(img: np.ndarray, x: float, y: float, r: int = 6) -> np.ndarray:
    x0, y0 = int(x) - r, int(y) - r
    patch = img[y0:y0 + 2 * r + 1, x0:x0 + 2 * r + 1].astype(float)
    ys, xs = np.mgrid[y0:y0 + 2 * r + 1, x0:x0 + 2 * r + 1] + 0.5
    return np.array([(patch * xs).sum(), (patch * ys).sum()]) / patch.sum()


def test_each_pixel_lands_where_the_pinhole_camera_projects_it(tmp_path: Path):
    rec = pycolmap.Reconstruction()
    cam = pycolmap.Camera(SOURCE.todict())
    cam.camera_id = 1
    rec.add_camera_with_trivial_rig(cam)
    target = undistorted_cameras(rec, 800)[1]
    assert target.model.name == "PINHOLE" and max(target.width, target.height) == 800
    wanted = np.array([[x, y] for x in np.linspace(60, target.width - 60, 7)
                       for y in np.linspace(60, target.height - 60, 5)])
    rays = target.cam_from_img(wanted)
    source_xy = SOURCE.img_from_cam(np.c_[rays, np.ones(len(rays))])
    Image.fromarray(_blobs(source_xy, (SOURCE.width, SOURCE.height), 4.0)).convert("RGB").save(
        tmp_path / "in.jpg", quality=98)
    undistort_image(tmp_path / "in.jpg", tmp_path / "out.jpg", SOURCE, target)
    with Image.open(tmp_path / "out.jpg") as out:
        assert out.size == (target.width, target.height)
        grey = np.asarray(out.convert("L"))
    found = np.array([_centroid(grey, x, y) for x, y in wanted])
    assert np.abs(found - wanted).max() < 0.15  # pixels, corners included


def _extract(db: Path, folder: Path, names: list[str], max_size: int) -> None:
    options = pycolmap.FeatureExtractionOptions()
    options.max_image_size = max_size
    options.sift.first_octave = 0
    pycolmap.extract_features(db, folder, image_names=names, extraction_options=options,
                              device=pycolmap.Device.cpu)


def _keypoints(db: Path) -> dict[str, np.ndarray]:
    database = pycolmap.Database.open(str(db))
    try:
        return {im.name: database.read_keypoints(im.image_id)
                for im in database.read_all_images()}
    finally:
        database.close()


def test_features_from_reduced_copies_come_back_at_full_size(tmp_path: Path):
    generate_flight(tmp_path / "f", n_images=2, seed=3, width=1280, height=960)
    names = ["SYN_0001.JPG", "SYN_0002.JPG"]
    flight = Flight(tmp_path / "f", tuple(FlightImage(n, 1280, 960) for n in names))
    assert needs_copies(flight, 400) and not needs_copies(flight, 1200)
    write_copies(flight, 400, tmp_path / "small", lambda n: None)
    with Image.open(tmp_path / "small" / names[0]) as im:
        assert im.size == (400, 300)
    _extract(tmp_path / "full.db", tmp_path / "f", names, 400)
    _extract(tmp_path / "copies.db", tmp_path / "small", names, 400)
    restore_full_size(tmp_path / "copies.db", flight)
    database = pycolmap.Database.open(str(tmp_path / "copies.db"))
    camera = database.read_all_cameras()[0]
    database.close()
    assert (camera.width, camera.height) == (1280, 960)
    full, copies = _keypoints(tmp_path / "full.db"), _keypoints(tmp_path / "copies.db")
    for name in names:
        a, b = full[name], copies[name]
        assert 0.8 < len(b) / len(a) < 1.25
        nearest = np.min(np.linalg.norm(b[:, None, :2] - a[None, :, :2], axis=2), axis=1)
        assert np.median(nearest) < 0.5  # pixels at full size: the same features, same place
        scale = np.linalg.norm(b[:, 2:4], axis=1) / np.linalg.norm(
            a[np.argmin(np.linalg.norm(b[:, None, :2] - a[None, :, :2], axis=2), axis=1), 2:4],
            axis=1)
        assert np.median(scale) == pytest.approx(1.0, abs=0.1)  # and the same size
