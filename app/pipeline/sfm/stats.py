"""Statistics of a reconstruction and its database: SfmStats events and sfm/stats.json."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pycolmap

from ..events import SfmStats

HISTOGRAM_EDGES = (2, 3, 4, 5, 6, 8, 10, 15, 20)  # track-length bins: 2, 3, ..., 15-19, 20+


@dataclass
class DatabaseCounts:
    """What feature extraction and matching produced (read from the COLMAP database)."""

    images: int = 0
    images_with_features: int = 0
    features_per_image: dict[str, int] = field(default_factory=dict)
    matched_pairs: int = 0  # image pairs with a verified two-view geometry
    inlier_matches: int = 0
    verified_pairs_per_image: dict[str, int] = field(default_factory=dict)

    @property
    def mean_features(self) -> float:
        """Mean keypoints over the images that have any."""
        counts = [c for c in self.features_per_image.values() if c > 0]
        return float(np.mean(counts)) if counts else 0.0


ProgressFn = Callable[[str, int, int, DatabaseCounts], None]  # phase, done, total, counts


def database_counts(path: Path) -> DatabaseCounts:
    """Counts from a COLMAP database, read through pycolmap.

    Never through Python's sqlite3 while pycolmap may hold the file: two SQLite copies in one
    process do not share their POSIX locks, and reading beside pycolmap's writer crashed it
    (SIGBUS) here. pycolmap may migrate a foreign database in place: open copies of those.
    """
    counts = DatabaseCounts()
    if not Path(path).exists():
        return counts
    db = pycolmap.Database.open(str(path))
    try:
        images = db.read_all_images()
        counts.images = len(images)
        counts.features_per_image = {
            im.name: int(db.num_keypoints_for_image(im.image_id))
            if db.exists_keypoints(im.image_id) else 0 for im in images}
        counts.images_with_features = sum(1 for n in counts.features_per_image.values() if n)
        pair_ids, geometries = db.read_two_view_geometries()
        inliers = [len(g.inlier_matches) for g in geometries]
        counts.matched_pairs = sum(1 for n in inliers if n > 0)
        counts.inlier_matches = int(sum(inliers))
        names = {im.image_id: im.name for im in images}
        per_image = dict.fromkeys(names.values(), 0)
        for pair_id, n in zip(pair_ids, inliers):
            if n > 0:
                for image_id in pycolmap.pair_id_to_image_pair(pair_id):
                    per_image[names[image_id]] += 1
        counts.verified_pairs_per_image = per_image
    finally:
        db.close()
    return counts


def track_length_histogram(rec: pycolmap.Reconstruction) -> dict[str, int]:
    """Number of 3D points per track length bin ("2", "3", ..., "15-19", "20+")."""
    lengths = np.array([p.track.length() for p in rec.points3D.values()], dtype=np.int64)
    hist: dict[str, int] = {}
    for lo, hi in zip(HISTOGRAM_EDGES, HISTOGRAM_EDGES[1:] + (None,)):
        label = f"{lo}+" if hi is None else (str(lo) if hi == lo + 1 else f"{lo}-{hi - 1}")
        mask = lengths >= lo if hi is None else (lengths >= lo) & (lengths < hi)
        hist[label] = int(mask.sum())
    short = int((lengths < HISTOGRAM_EDGES[0]).sum())
    if short:
        hist = {f"<{HISTOGRAM_EDGES[0]}": short, **hist}
    return hist


def model_stats(rec: pycolmap.Reconstruction, counts: DatabaseCounts, images_total: int,
                stage: str, phase: str) -> SfmStats:
    """An SfmStats event from a reconstruction and the database counts."""
    return SfmStats(
        stage=stage, phase=phase, images_total=images_total,
        images_with_features=counts.images_with_features, mean_features=counts.mean_features,
        matched_pairs=counts.matched_pairs, inlier_matches=counts.inlier_matches,
        registered_images=rec.num_reg_images(), points=rec.num_points3D(),
        mean_track_length=float(rec.compute_mean_track_length()) if rec.num_points3D() else 0.0,
        mean_reprojection_error=float(rec.compute_mean_reprojection_error())
        if rec.num_points3D() else 0.0,
        track_length_histogram=track_length_histogram(rec))


def counts_stats(counts: DatabaseCounts, images_total: int, stage: str, phase: str) -> SfmStats:
    """An SfmStats event from database counts alone (before a model exists)."""
    return SfmStats(stage=stage, phase=phase, images_total=images_total,
                    images_with_features=counts.images_with_features,
                    mean_features=counts.mean_features, matched_pairs=counts.matched_pairs,
                    inlier_matches=counts.inlier_matches)


def stats_document(event: SfmStats, counts: DatabaseCounts, images: dict[str, dict[str, Any]],
                   extra: dict[str, Any]) -> dict[str, Any]:
    """The content of sfm/stats.json: the final SfmStats, per-image entries and `extra`."""
    doc = event.to_dict()
    for key in ("type", "stage", "t", "phase"):
        doc.pop(key, None)
    return {"schema_version": 2, **doc, "features_per_image": counts.features_per_image,
            "images": images, **extra}


def json_safe(value: Any) -> Any:
    """Replace NaN/inf (not JSON) by None, recursively."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
