"""Mapping: pycolmap's incremental pipeline (live statistics through its callbacks, GPS pose
priors) or global mapping, returning every model found, largest first."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pycolmap

from ..errors import Cancelled
from ..stage import CancelToken
from .settings import SfmSettings


class _StopMapping(Exception):
    """Raised from a mapper callback to end pycolmap's loop when the user cancels."""


def incremental_options(settings: SfmSettings, image_path: Path,
                        use_priors: bool) -> pycolmap.IncrementalPipelineOptions:
    """IncrementalPipelineOptions from the stage settings (tuned for GPS-guided flights)."""
    opts = pycolmap.IncrementalPipelineOptions()
    opts.image_path = str(image_path)
    opts.num_threads = settings.num_threads
    opts.random_seed = 0
    opts.min_num_matches = settings.min_num_matches
    opts.min_model_size = 3  # smaller models are reported too (unrelated flights)
    opts.use_prior_position = use_priors
    opts.use_robust_loss_on_prior_position = True  # a GPS outlier must not bend the model
    opts.ba_refine_focal_length = settings.focal_policy != "fixed"
    opts.ba_global_max_num_iterations = settings.ba_global_max_num_iterations
    opts.ba_global_frames_ratio = settings.ba_global_frames_ratio
    opts.ba_global_points_ratio = settings.ba_global_frames_ratio
    opts.ba_local_max_refinements = settings.ba_local_max_refinements
    opts.triangulation.ignore_two_view_tracks = not settings.keep_two_view_tracks
    return opts


def run_incremental(db_path: Path, image_path: Path, settings: SfmSettings, use_priors: bool,
                    cancel: CancelToken, on_model: Callable[[pycolmap.Reconstruction], None]
                    ) -> list[pycolmap.Reconstruction]:
    """Incremental mapping; `on_model` sees the growing model after each registration."""
    opts = incremental_options(settings, image_path, use_priors)
    manager = pycolmap.ReconstructionManager()
    database = pycolmap.Database.open(str(db_path))
    try:
        pipeline = pycolmap.IncrementalPipeline(opts, database, manager)

        def callback() -> None:
            if cancel.cancelled:
                raise _StopMapping()
            if manager.size():
                on_model(manager.get(manager.size() - 1))

        for kind in (pycolmap.IncrementalPipelineCallback.INITIAL_IMAGE_PAIR_REG_CALLBACK,
                     pycolmap.IncrementalPipelineCallback.NEXT_IMAGE_REG_CALLBACK):
            pipeline.add_callback(kind, callback)
        cancel.check()
        try:
            pipeline.run()
        except _StopMapping:
            raise Cancelled() from None
        except RuntimeError as exc:  # pybind11 may re-wrap the callback's exception
            if cancel.cancelled:
                raise Cancelled() from exc
            raise
    finally:
        database.close()
    return _largest_first([manager.get(i) for i in range(manager.size())])


def choose_mapper(settings: SfmSettings, images: int) -> tuple[str, str]:
    """The mapper to run and why: `sfm.mapper`, or by flight size under `auto` (incremental
    mapping grows about quadratically with the images; see bench/sfm.py for the figures)."""
    if settings.mapper != "auto":
        return settings.mapper, "set by sfm.mapper"
    limit = settings.global_from_images
    if images >= limit:
        return "global", f"{images} images >= sfm.global_from_images ({limit})"
    return "incremental", f"{images} images < sfm.global_from_images ({limit})"


def run_global(db_path: Path, image_path: Path, out_dir: Path, settings: SfmSettings,
               cancel: CancelToken) -> list[pycolmap.Reconstruction]:
    """Global mapping (GLOMAP in pycolmap); it has no callbacks, so cancel acts after it."""
    opts = pycolmap.GlobalPipelineOptions()
    opts.image_path = str(image_path)
    opts.num_threads = settings.num_threads
    opts.random_seed = 0
    opts.min_num_matches = settings.min_num_matches
    opts.mapper.global_positioning.use_gpu = False
    opts.mapper.bundle_adjustment.ceres.use_gpu = False
    opts.mapper.bundle_adjustment.refine_focal_length = settings.focal_policy != "fixed"
    opts.mapper.retriangulation.ignore_two_view_tracks = not settings.keep_two_view_tracks
    if settings.ba_global_max_num_iterations > 0:  # pycolmap's 200, as in incremental mapping
        opts.mapper.bundle_adjustment.ceres.solver_options.max_num_iterations = \
            settings.ba_global_max_num_iterations
    cancel.check()
    out_dir.mkdir(parents=True, exist_ok=True)
    models = pycolmap.global_mapping(str(db_path), str(image_path), str(out_dir), opts)
    cancel.check()
    return _largest_first(list(models.values()))


def _largest_first(models: list[pycolmap.Reconstruction]) -> list[pycolmap.Reconstruction]:
    return sorted((m for m in models if m.num_reg_images()),
                  key=lambda m: (m.num_reg_images(), m.num_points3D()), reverse=True)
