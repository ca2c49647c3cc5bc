"""The COLMAP database: SIFT extraction, pose priors and matching, reused when their settings
did not change (fingerprints in sfm/database.json beside the database)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pycolmap

from .. import atomic
from ..settings import fingerprint
from ..stage import CancelToken
from .extraction import extract, uses_reduced_copies
from .flight import Flight
from .georeference import GpsTargets
from .intrinsics import apply_focal_priors
from .matching import MatchPlan, run_matching
from .settings import SfmSettings
from .stats import ProgressFn
from .timing import PhaseTimes


@dataclass
class DatabaseResult:
    """What building the database did: reused or computed features and matches, EXIF priors."""

    features_reused: bool
    matches_reused: bool
    exif_pose_priors: int  # GPS priors pycolmap itself read from the EXIF during extraction
    pose_priors: int  # priors written from flight.json (ENU, with covariance)
    focal_priors: dict[int, float]


def features_fingerprint(flight: Flight, settings: SfmSettings) -> str:
    """Fingerprint of what the extracted features depend on."""
    return fingerprint({"images": [(im.file, im.width, im.height) for im in flight.images],
                        "source": str(flight.source), "pycolmap": pycolmap.__version__,
                        "max_image_size": settings.max_image_size,
                        "max_num_features": settings.max_num_features,
                        "first_octave": settings.first_octave,
                        "camera_model": settings.camera_model,
                        "reduced_copies": uses_reduced_copies(flight, settings),
                        "focal_priors": [im.focal_prior_px for im in flight.images]})


def matches_fingerprint(features_fp: str, plan: MatchPlan, priors_fp: str,
                        settings: SfmSettings) -> str:
    """Fingerprint of what the matches depend on (features, matcher, GPS priors)."""
    return fingerprint({"features": features_fp, "plan": plan.to_dict(), "priors": priors_fp,
                        "spatial": [settings.spatial_neighbors, settings.spatial_max_distance_m],
                        "sequential": settings.sequential_overlap})


def build_database(db_path: Path, flight: Flight, targets: GpsTargets | None, plan: MatchPlan,
                   settings: SfmSettings, cancel: CancelToken, on_progress: ProgressFn,
                   times: PhaseTimes) -> DatabaseResult:
    """Extract features and match into `db_path`, reusing what earlier runs left when current."""
    record_path = db_path.with_suffix(".json")
    record = _read_record(record_path) if db_path.exists() else {}
    feat_fp = features_fingerprint(flight, settings)
    # written whether or not GPS enters bundle adjustment: spatial matching reads them
    priors = targets.prior_positions() if targets is not None else {}
    priors_fp = fingerprint({n: [np.round(p, 3).tolist(), np.round(np.diag(c), 4).tolist()]
                             for n, (p, c) in priors.items()})
    match_fp = matches_fingerprint(feat_fp, plan, priors_fp, settings)
    features_reused = record.get("features") == feat_fp
    matches_reused = features_reused and record.get("matches") == match_fp
    exif_priors = int(record.get("exif_pose_priors", 0)) if features_reused else 0
    focal_priors = {int(k): v for k, v in record.get("focal_priors", {}).items()} \
        if features_reused else {}
    if not features_reused:
        with times.phase("extraction"), atomic.atomic_path(db_path) as tmp:
            tmp.unlink()
            extract(tmp, flight, settings, cancel, on_progress)
            exif_priors = _count_pose_priors(tmp)
            focal_priors = apply_focal_priors(tmp, flight)
        record = {"features": feat_fp, "exif_pose_priors": exif_priors,
                  "focal_priors": {str(k): v for k, v in focal_priors.items()}}
        atomic.write_json(record_path, record)
    pose_priors = _count_pose_priors(db_path) if matches_reused else 0
    if not matches_reused:
        with times.phase("matching"), atomic.atomic_path(db_path) as tmp:
            shutil.copyfile(db_path, tmp)
            pose_priors = _write_pose_priors(tmp, priors)
            _clear_matches(tmp)
            run_matching(tmp, plan, settings, cancel, on_progress)
        atomic.write_json(record_path, {**record, "matches": match_fp})
    return DatabaseResult(features_reused, matches_reused, exif_priors, pose_priors, focal_priors)


def _read_record(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _count_pose_priors(db_path: Path) -> int:
    db = pycolmap.Database.open(str(db_path))
    try:
        return int(db.num_pose_priors())
    finally:
        db.close()


def _write_pose_priors(db_path: Path, priors: dict[str, tuple[np.ndarray, np.ndarray]]) -> int:
    """Replace the EXIF priors by flight.json's GPS in our ENU frame, with the covariance the
    GPS assessment gives (heights from RelativeAltitude, the GPS, or left free)."""
    db = pycolmap.Database.open(str(db_path))
    try:
        db.clear_pose_priors()
        for image in db.read_all_images():
            if image.name not in priors:
                continue
            position, cov = priors[image.name]
            db.write_pose_prior(pycolmap.PosePrior(
                corr_data_id=image.data_id, position=position, position_covariance=cov,
                coordinate_system=pycolmap.PosePriorCoordinateSystem.CARTESIAN))
        return int(db.num_pose_priors())
    finally:
        db.close()


def _clear_matches(db_path: Path) -> None:
    db = pycolmap.Database.open(str(db_path))
    try:
        db.clear_matches()
        db.clear_two_view_geometries()
    finally:
        db.close()
