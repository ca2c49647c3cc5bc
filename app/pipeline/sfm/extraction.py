"""Feature extraction: pycolmap SIFT over the flight, a few images per call.

Progress is read from the database between calls, never during one: opening the database
while pycolmap writes it makes pycolmap's writer throw "SQLite error: database is locked"
and abort the whole process (reproduced here within a few polls). Each group of images that
share a camera (make, model, size, focal) gets one camera: its first call creates it, the
later calls reuse it (pycolmap would otherwise create a camera per call).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterator

import pycolmap

from ..stage import CancelToken
from .flight import Flight, FlightImage
from .monitor import PycolmapCall
from .options import options
from .reduced_copies import needs_copies, restore_full_size, write_copies
from .settings import SfmSettings
from .stats import DatabaseCounts, ProgressFn, database_counts

IMAGES_PER_CALL = 8


def uses_reduced_copies(flight: Flight, settings: SfmSettings) -> bool:
    """Whether extraction reads reduced copies of the photos (sfm.fast_decode on large JPEGs)."""
    return settings.fast_decode and needs_copies(flight, settings.max_image_size)


def extract(db: Path, flight: Flight, settings: SfmSettings, cancel: CancelToken,
            on_progress: ProgressFn) -> None:
    """SIFT features of every image into `db`, reporting "features" progress between calls."""
    total = len(flight.images)
    with tempfile.TemporaryDirectory(dir=db.parent, prefix=".reduced-") as tmp:
        source = flight.source
        if uses_reduced_copies(flight, settings):
            def decoded(n: int) -> None:
                cancel.check()
                on_progress("decoding", n, total, DatabaseCounts(images=total))

            write_copies(flight, settings.max_image_size, Path(tmp), decoded)
            source = Path(tmp)
        done = 0
        for names in _camera_groups(flight):
            camera_id = -1
            for chunk in _chunks(names, IMAGES_PER_CALL):
                with PycolmapCall(cancel) as call:
                    pycolmap.extract_features(
                        db, source, image_names=chunk, camera_mode=pycolmap.CameraMode.SINGLE,
                        reader_options=_reader(settings, camera_id),
                        extraction_options=_options(settings), device=pycolmap.Device.cpu,
                        cancellation_token=call.token)
                camera_id = camera_id if camera_id >= 0 else _camera_of(db, chunk[0])
                done += len(chunk)
                on_progress("features", done, total, database_counts(db))
        if source != flight.source:
            restore_full_size(db, flight)


def _camera_groups(flight: Flight) -> list[list[str]]:
    """Image names grouped by camera, each group in flight order."""
    groups: dict[tuple, list[str]] = {}
    for im in flight.images:
        groups.setdefault(_camera_key(im), []).append(im.file)
    return list(groups.values())


def _camera_key(im: FlightImage) -> tuple:
    focal = round(im.focal_prior_px, 1) if im.focal_prior_px else None
    return im.make, im.model, im.width, im.height, focal


def _chunks(names: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(names), size):
        yield names[i:i + size]


def _reader(settings: SfmSettings, camera_id: int) -> pycolmap.ImageReaderOptions:
    return options(pycolmap.ImageReaderOptions, camera_model=settings.camera_model,
                   existing_camera_id=camera_id)


def _options(settings: SfmSettings) -> pycolmap.FeatureExtractionOptions:
    return options(pycolmap.FeatureExtractionOptions, max_image_size=settings.max_image_size,
                   num_threads=settings.num_threads,
                   sift__max_num_features=settings.max_num_features,
                   sift__first_octave=settings.first_octave)


def _camera_of(db: Path, name: str) -> int:
    database = pycolmap.Database.open(str(db))
    try:
        return int(database.read_image_with_name(name).camera_id)
    finally:
        database.close()
