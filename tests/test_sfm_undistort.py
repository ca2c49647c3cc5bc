"""The hand-off's undistortion: reduced-size decode and a mesh warp land every pixel where
pycolmap's own PINHOLE camera says it belongs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pycolmap
from PIL import Image

from app.pipeline.sfm.undistort import undistort_image, undistorted_cameras

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
