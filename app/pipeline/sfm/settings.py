"""Settings of the Structure-from-Motion stage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..fields import cadence


@dataclass
class SfmSettings:
    """Backend choice and the knobs of feature extraction, matching, mapping and the gate."""

    backend: str = "pycolmap"  # pycolmap | opensfm
    import_from: str | None = None  # an existing COLMAP model folder to import instead of running SfM

    # -- features (pycolmap SIFT) -------------------------------------------------------------
    max_image_size: int = 1600  # images are downscaled to this longest side before SIFT
    max_num_features: int = 8192  # per image
    first_octave: int = 0  # -1 upsamples 2x first: more small features, about 2x slower
    camera_model: str = "SIMPLE_RADIAL"  # COLMAP model of the raw cameras (before undistortion)
    num_threads: int = cadence(-1)  # -1: all cores

    # -- matching -----------------------------------------------------------------------------
    matcher: Literal["auto", "spatial", "sequential", "exhaustive"] = "auto"
    exhaustive_max_images: int = 12  # auto: exhaustive matching up to this many images
    spatial_neighbors: int = 8  # GPS-guided: candidate pairs per image
    spatial_max_distance_m: float = 150.0  # GPS-guided: farthest neighbour considered
    sequential_overlap: int = 8  # video-like sets: each image matched with the next N
    min_gps_fraction: float = 0.8  # auto: spatial matching needs GPS on this share of images

    # -- mapping ------------------------------------------------------------------------------
    # auto: incremental below global_from_images images, global (GLOMAP) from there on.
    # Measured (bench/sfm_mapping.py, same database, alternating): 75 images of 12 MP, global
    # 1.39x faster (262 s vs 364 s, same registration and points, 0.54 vs 0.37 px); issue 12's
    # real 75-image survey 79 s vs ~190 s; 60 small 800x600 images, incremental 2.4x faster
    mapper: Literal["auto", "incremental", "global"] = "auto"
    global_from_images: int = 60
    use_gps_prior: bool = True  # GPS positions as pose priors in bundle adjustment
    # GPS accuracy (1 sigma) east/north and up; empty: measured by ingest (gps_quality), which
    # also decides whether heights come from RelativeAltitude, the GPS or the model
    gps_std_horizontal_m: float | None = None
    gps_std_vertical_m: float | None = None
    ba_global_max_num_iterations: int = 30  # per global bundle adjustment (-1: pycolmap's default)
    ba_global_frames_ratio: float = 1.4  # global BA after the model grew by this factor
    ba_local_max_refinements: int = 1  # local BA re-runs after filtering outliers
    min_num_matches: int = 15  # inlier matches for an image pair to count
    # triangulate points seen in only two images too: about twice the points to start training
    # from (pycolmap drops them by default); the track-length histogram shows their share
    keep_two_view_tracks: bool = True

    # -- intrinsics ---------------------------------------------------------------------------
    focal_policy: Literal["auto", "refine", "fixed"] = "auto"  # auto: see intrinsics.py
    focal_tolerance: float = 0.03  # relative disagreement that is flagged (focal, ground height)

    # -- validation gate ----------------------------------------------------------------------
    min_registered_ratio: float = 0.9  # registered / usable images
    min_points: int = 200  # 3D points in the model
    max_reprojection_error_px: float = 2.0  # mean over all observations
    min_observations_per_image: int = 20  # 2D-3D correspondences each registered image needs
    # a part of the model (scale, heading, position, tilt) may depart from the rest by this many
    # standard deviations of the GPS noise the model shows before the model is called broken
    consistency_sigmas: float = 5.0
    # a hard limit on the mean horizontal camera-to-GPS distance after alignment; empty: the GPS
    # is judged by its assessed quality and the georeference's accuracy is stated instead
    max_gps_residual_m: float | None = None

    # -- hand-off -----------------------------------------------------------------------------
    # longest side of the hand-off images (-1: as shot); 1600 px is the 3DGS reference's default
    undistort_max_image_size: int = 1600
    # decode large JPEGs at reduced size (libjpeg DCT scaling) for feature extraction and
    # undistortion (reduced_copies.py, undistort.py); false: pycolmap decodes them in full
    # (about 1 s more an image to extract, 10x slower to undistort on 12 MP photos)
    fast_decode: bool = True
