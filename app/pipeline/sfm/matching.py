"""Which image pairs to match, chosen by the data, and running pycolmap's matchers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pycolmap

from ..stage import CancelToken
from .flight import Flight
from .monitor import PycolmapCall
from .settings import SfmSettings
from .stats import ProgressFn, database_counts


@dataclass(frozen=True)
class MatchPlan:
    """The matchers to run, in order, and why they were chosen."""

    matchers: tuple[str, ...]  # spatial | sequential | exhaustive
    reason: str
    expected_pairs: int

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (also fingerprinted)."""
        return {"matchers": list(self.matchers), "reason": self.reason,
                "expected_pairs": self.expected_pairs}


def plan_matching(flight: Flight, settings: SfmSettings) -> MatchPlan:
    """Exhaustive for tiny sets, GPS-guided spatial when the flight has GPS (whether or not
    GPS enters bundle adjustment), plus sequential in capture order where GPS is missing,
    jumps or is noisy, and sequential alone for video-like sets without GPS; `sfm.matcher`
    overrides the choice."""
    n = len(flight.images)
    with_gps = len(flight.with_gps)
    exhaustive = n * (n - 1) // 2
    spatial = n * settings.spatial_neighbors
    sequential = n * settings.sequential_overlap
    if settings.matcher != "auto":
        kind = settings.matcher
        pairs = {"exhaustive": exhaustive, "spatial": spatial, "sequential": sequential}[kind]
        return MatchPlan((kind,), "set by sfm.matcher", min(pairs, exhaustive))
    if n <= settings.exhaustive_max_images:
        return MatchPlan(("exhaustive",), f"{n} images: every pair is affordable", exhaustive)
    if with_gps >= settings.min_gps_fraction * n:
        doubt = _gps_doubts(flight, with_gps)
        if not doubt:
            return MatchPlan(("spatial",), f"all {n} images have GPS: "
                             f"{settings.spatial_neighbors} nearest neighbours each", spatial)
        return MatchPlan(("spatial", "sequential"),
                         f"{doubt}: GPS neighbours, plus each image with the next "
                         f"{settings.sequential_overlap} in capture order",
                         min(spatial + sequential, exhaustive))
    return MatchPlan(("sequential",), f"{with_gps}/{n} images have GPS: matching each image "
                     f"with the next {settings.sequential_overlap} in name order (video-like)",
                     min(sequential, exhaustive))


def _gps_doubts(flight: Flight, with_gps: int) -> str:
    """Why GPS neighbours alone may miss pairs ("" when they will not)."""
    quality = (flight.gps_quality or {}).get("horizontal") or {}
    if with_gps < len(flight.images):
        return f"{with_gps}/{len(flight.images)} images have GPS"
    if quality.get("outliers"):
        return f"{len(quality['outliers'])} GPS position(s) jump off the flight path"
    if quality.get("verdict") in ("noisy", "unreliable"):
        return f"the GPS is {quality['verdict']} (+-{quality['scatter_m']:.0f} m)"
    return ""


def run_matching(db: Path, plan: MatchPlan, settings: SfmSettings, cancel: CancelToken,
                 on_progress: ProgressFn) -> None:
    """Run the plan's matchers on the database (pairs already matched are skipped)."""
    matching = pycolmap.FeatureMatchingOptions()
    matching.num_threads = settings.num_threads
    verification = pycolmap.TwoViewGeometryOptions()
    verification.min_num_inliers = settings.min_num_matches

    def poll() -> None:
        counts = database_counts(db)
        on_progress("matching", min(1.0, counts.matched_pairs / max(1, plan.expected_pairs)),
                    counts)

    for kind in plan.matchers:
        with PycolmapCall(cancel, poll) as call:
            common = dict(matching_options=matching, verification_options=verification,
                          device=pycolmap.Device.cpu, cancellation_token=call.token)
            if kind == "exhaustive":
                pycolmap.match_exhaustive(db, **common)
            elif kind == "spatial":
                pairing = pycolmap.SpatialPairingOptions()
                pairing.max_num_neighbors = settings.spatial_neighbors
                pairing.max_distance = settings.spatial_max_distance_m
                pairing.ignore_z = True
                pycolmap.match_spatial(db, pairing_options=pairing, **common)
            else:
                pairing = pycolmap.SequentialPairingOptions()
                pairing.overlap = settings.sequential_overlap
                pycolmap.match_sequential(db, pairing_options=pairing, **common)
