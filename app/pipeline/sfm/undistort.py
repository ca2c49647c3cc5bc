"""The hand-off's PINHOLE images and model: each image decoded at reduced size and warped once.

pycolmap's undistorter decodes every 12 MP photo in full, warps it at full size and then
shrinks it: about 2 s an image here. Here libjpeg decodes straight to the nearest scale at or
above the output (Pillow's `draft`, DCT scaling), and Pillow warps that to the output size
through a mesh of quads computed once per camera (the distortion is smooth, so a 48-cell
mesh is within a few hundredths of a pixel of the exact warp): about 0.15 s an image,
threads in parallel (Pillow releases the interpreter while decoding, warping and encoding).
The output camera is pycolmap's own `undistort_camera`, so the model matches what its
undistorter would write.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np
import pycolmap
from PIL import Image

from ..atomic import atomic_path
from ..stage import CancelToken

MESH_CELLS = 48  # quads across the output's long side
JPEG_QUALITY = 95


def undistorted_cameras(rec: pycolmap.Reconstruction, max_image_size: int
                        ) -> dict[int, pycolmap.Camera]:
    """The PINHOLE camera each camera becomes (pycolmap's choice of focal length and size)."""
    options = pycolmap.UndistortCameraOptions()
    options.max_image_size = max_image_size
    return {cid: pycolmap.undistort_camera(options, cam) for cid, cam in rec.cameras.items()}


def warp_mesh(source: pycolmap.Camera, target: pycolmap.Camera, scale: tuple[float, float]
              ) -> list[tuple[tuple[int, int, int, int], tuple[float, ...]]]:
    """Pillow MESH data: each output cell and the quad of the source image (decoded at `scale`
    of the camera's size) it comes from."""
    cols = MESH_CELLS
    rows = max(1, round(MESH_CELLS * target.height / target.width))
    xs = np.linspace(0, target.width, cols + 1).round().astype(int)
    ys = np.linspace(0, target.height, rows + 1).round().astype(int)
    grid = np.array([[x, y] for y in ys for x in xs], dtype=np.float64)
    rays = target.cam_from_img(grid)
    src = source.img_from_cam(np.c_[rays, np.ones(len(rays))]) * np.asarray(scale)
    src = src.reshape(len(ys), len(xs), 2)
    mesh = []
    for j in range(rows):
        for i in range(cols):
            quad = (src[j, i], src[j + 1, i], src[j + 1, i + 1], src[j, i + 1])  # NW SW SE NE
            mesh.append(((int(xs[i]), int(ys[j]), int(xs[i + 1]), int(ys[j + 1])),
                         tuple(float(v) for p in quad for v in p)))
    return mesh


def undistort_image(src: Path, dest: Path, source: pycolmap.Camera, target: pycolmap.Camera
                    ) -> None:
    """Decode `src` at reduced size, warp it to the PINHOLE `target`, write `dest` (JPEG)."""
    with Image.open(src) as im:
        im.draft("RGB", (target.width, target.height))
        im = im.convert("RGB")
    scale = (im.width / source.width, im.height / source.height)
    out = im.transform((target.width, target.height), Image.MESH,
                       warp_mesh(source, target, scale), Image.BILINEAR)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest) as tmp:
        out.save(tmp, format="JPEG", quality=JPEG_QUALITY)


def undistort(model_dir: Path, image_dir: Path, out_dir: Path, max_image_size: int,
              num_threads: int, cancel: CancelToken,
              progress: Callable[[int, int], None]) -> None:
    """Write out_dir/images (PINHOLE images) and out_dir/sparse (the model, its cameras and
    keypoints moved to the undistorted images) for the registered images of `model_dir`."""
    rec = pycolmap.Reconstruction(str(model_dir))
    cameras = undistorted_cameras(rec, max_image_size)
    images = [im for im in rec.images.values() if im.has_pose]
    workers = os.cpu_count() or 1 if num_threads <= 0 else num_threads

    def one(image: pycolmap.Image) -> None:
        cancel.check()
        undistort_image(image_dir / image.name, out_dir / "images" / image.name,
                        rec.cameras[image.camera_id], cameras[image.camera_id])

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, _ in enumerate(pool.map(one, images), start=1):
            progress(done, len(images))
    _move_to_cameras(rec, cameras)
    (out_dir / "sparse").mkdir(parents=True, exist_ok=True)
    rec.write_binary(str(out_dir / "sparse"))


def _move_to_cameras(rec: pycolmap.Reconstruction, cameras: dict[int, pycolmap.Camera]) -> None:
    """Re-express every keypoint in its undistorted camera and replace the cameras."""
    for image in rec.images.values():
        source, target = rec.cameras[image.camera_id], cameras[image.camera_id]
        points = image.points2D
        if not len(points):
            continue
        xy = np.array([p.xy for p in points])
        rays = source.cam_from_img(xy)
        moved = target.img_from_cam(np.c_[rays, np.ones(len(rays))])
        for point, new in zip(points, moved):
            point.xy = new
    for cid, target in cameras.items():
        camera = rec.cameras[cid]
        camera.model = target.model
        camera.width, camera.height = target.width, target.height
        camera.params = target.params
