"""Feature extraction from reduced copies of large photos, its keypoints put back to full size.

pycolmap decodes every 12 MP photo in full and shrinks it to sfm.max_image_size before SIFT:
about 1 s an image of decoding and resampling here. libjpeg can decode straight at 1/2, 1/4
or 1/8 size (Pillow's `draft`), so each photo is decoded at the scale just above the size
SIFT works at, resized to exactly that size and handed to pycolmap; afterwards each image's
keypoints (position and affine shape) and its camera are scaled back to the photo's size, so
the database and the model are what a full-size extraction would have given.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np
import pycolmap
from PIL import Image

from .flight import Flight

WORTH_IT = 1.25  # copies pay off when the photos are this much larger than SIFT's size
JPEG_QUALITY = 95
WORKERS = 4


def needs_copies(flight: Flight, max_image_size: int) -> bool:
    """True when the flight's photos are JPEGs well above the size SIFT works at."""
    return max_image_size > 0 and all(
        max(im.width, im.height) > WORTH_IT * max_image_size
        and im.file.lower().endswith((".jpg", ".jpeg")) for im in flight.images)


def write_copies(flight: Flight, max_image_size: int, folder: Path,
                 on_done: Callable[[int], None]) -> None:
    """Write a copy of each photo, longest side `max_image_size`, under `folder` (same names)."""
    def one(image_name: str) -> None:
        with Image.open(flight.source / image_name) as im:
            scale = max_image_size / max(im.size)
            size = (round(im.width * scale), round(im.height * scale))
            exif = im.info.get("exif")
            im.draft("RGB", size)
            small = im.convert("RGB").resize(size, Image.BILINEAR)
        dest = folder / image_name
        dest.parent.mkdir(parents=True, exist_ok=True)
        small.save(dest, format="JPEG", quality=JPEG_QUALITY, **({"exif": exif} if exif else {}))

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for done, _ in enumerate(pool.map(one, flight.names), start=1):
            on_done(done)


def restore_full_size(database: Path, flight: Flight) -> None:
    """Scale every image's keypoints and every camera of `database` back to the photos' size."""
    sizes = {im.file: (im.width, im.height) for im in flight.images}
    db = pycolmap.Database.open(str(database))
    try:
        cameras = {c.camera_id: c for c in db.read_all_cameras()}
        full: dict[int, tuple[int, int]] = {}
        for image in db.read_all_images():
            camera = cameras[image.camera_id]
            width, height = sizes[image.name]
            full[image.camera_id] = (width, height)
            if not db.exists_keypoints(image.image_id):
                continue
            keypoints = db.read_keypoints(image.image_id).astype(np.float64)
            scale = np.array([width / camera.width, height / camera.height])
            keypoints[:, [0, 2, 3]] *= scale[0]  # x and the affine shape's first row
            keypoints[:, [1, 4, 5]] *= scale[1]
            db.update_keypoints(image.image_id, keypoints.astype(np.float32))
        for camera_id, (width, height) in full.items():
            camera = cameras[camera_id]
            camera.rescale(width, height)
            db.update_camera(camera)
    finally:
        db.close()
