"""Which image pairs to match, chosen by the data, and matching them with pycolmap."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pycolmap

from ..stage import CancelToken
from .flight import Flight
from .monitor import PycolmapCall
from .options import options
from .settings import SfmSettings

CALLS = 20  # matching is split into about this many pycolmap calls (progress between them)
PAIRS_PER_CALL_MIN = 24
from .stats import ProgressFn, database_counts


@dataclass(frozen=True)
class MatchPlan:
    """The matchers to run, in order, and why they were chosen."""

    matchers: tuple[str, ...]  # spatial | sequential | exhaustive
    reason: str
    expected_pairs: int
    # images whose GPS is missing, jumps or is too noisy to find their neighbours: each is
    # also matched with the images taken just before and after it
    doubtful: tuple[str, ...] = ()
    capture_pairs: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (also fingerprinted)."""
        return {"matchers": list(self.matchers), "reason": self.reason,
                "expected_pairs": self.expected_pairs, "doubtful": list(self.doubtful),
                "capture_pairs": [list(p) for p in self.capture_pairs]}


def plan_matching(flight: Flight, settings: SfmSettings) -> MatchPlan:
    """Exhaustive for tiny sets, GPS-guided spatial when the flight has GPS (whether or not
    GPS enters bundle adjustment), plus capture-order neighbours for the images whose GPS
    is missing, jumps or is too noisy, and sequential alone for video-like sets without GPS;
    `sfm.matcher` overrides the choice."""
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
    if with_gps < settings.min_gps_fraction * n:
        return MatchPlan(("sequential",), f"{with_gps}/{n} images have GPS: matching each "
                         f"image with the next {settings.sequential_overlap} in name order "
                         f"(video-like)", min(sequential, exhaustive))
    doubt, doubtful = _gps_doubts(flight)
    pairs = _capture_pairs(flight, doubtful, max(1, settings.sequential_overlap // 2))
    reason = f"{with_gps}/{n} images have GPS: {settings.spatial_neighbors} nearest neighbours " \
             f"each"
    if doubt:
        reason += f"; {doubt}: those also matched with the {settings.sequential_overlap // 2} " \
                  f"taken before and after"
    return MatchPlan(("spatial",), reason, min(spatial + len(pairs), exhaustive),
                     tuple(doubtful), tuple(pairs))


def _gps_doubts(flight: Flight) -> tuple[str, list[str]]:
    """Why GPS neighbours may miss pairs, and for which images ("", [] when they will not)."""
    quality = (flight.gps_quality or {}).get("horizontal") or {}
    if quality.get("verdict") in ("noisy", "unreliable"):
        return f"the GPS is {quality['verdict']} (+-{quality['scatter_m']:.0f} m)", flight.names
    doubtful = [im.file for im in flight.images if im.gps is None]
    doubtful += [n for n in quality.get("outliers") or () if n not in doubtful]
    if not doubtful:
        return "", []
    return f"{len(doubtful)} image(s) without GPS or with a GPS jump", doubtful


def _capture_pairs(flight: Flight, names: list[str], overlap: int) -> list[tuple[str, str]]:
    """Each named image with the `overlap` images taken before and after it."""
    order = [n for n in flight.capture_order if n in flight.by_name()] or flight.names
    where = {n: i for i, n in enumerate(order)}
    pairs = set()
    for name in names:
        if name not in where:
            continue
        i = where[name]
        pairs.update(tuple(sorted((name, other)))
                     for other in order[max(0, i - overlap):i + overlap + 1] if other != name)
    return sorted(pairs)


def run_matching(db: Path, plan: MatchPlan, settings: SfmSettings, cancel: CancelToken,
                 on_progress: ProgressFn) -> None:
    """Match the plan's image pairs, a slice per pycolmap call, reporting "matching" progress
    between calls (reading the database during a call aborts pycolmap; see extraction.py)."""
    pairs = plan_pairs(db, plan, settings)
    matching = options(pycolmap.FeatureMatchingOptions, num_threads=settings.num_threads)
    verification = options(pycolmap.TwoViewGeometryOptions,
                           min_num_inliers=settings.min_num_matches)
    if any(any(c.isspace() for c in a + b) for a, b in pairs):
        # a pair list cannot name such files: pycolmap's matchers, progress only at the end
        _match_by_plan(db, plan, settings, matching, verification, cancel)
        on_progress("matching", len(pairs), len(pairs), database_counts(db))
        return
    step = max(PAIRS_PER_CALL_MIN, len(pairs) // CALLS)
    with tempfile.TemporaryDirectory(dir=db.parent, prefix=".pairs-") as tmp:
        listing = Path(tmp) / "pairs.txt"
        for start in range(0, len(pairs), step):
            listing.write_text("".join(f"{a} {b}\n" for a, b in pairs[start:start + step]),
                               encoding="utf-8")
            pairing = options(pycolmap.ImportedPairingOptions, match_list_path=listing)
            with PycolmapCall(cancel) as call:
                pycolmap.match_image_pairs(db, matching_options=matching,
                                           pairing_options=pairing,
                                           verification_options=verification,
                                           device=pycolmap.Device.cpu,
                                           cancellation_token=call.token)
            on_progress("matching", min(start + step, len(pairs)), len(pairs),
                        database_counts(db))


def _match_by_plan(db: Path, plan: MatchPlan, settings: SfmSettings,
                   matching: pycolmap.FeatureMatchingOptions,
                   verification: pycolmap.TwoViewGeometryOptions, cancel: CancelToken) -> None:
    """pycolmap's own matchers, one call each (file names a pair list cannot hold)."""
    for kind in plan.matchers + (("sequential",) if plan.capture_pairs else ()):
        with PycolmapCall(cancel) as call:
            common = dict(matching_options=matching, verification_options=verification,
                          device=pycolmap.Device.cpu, cancellation_token=call.token)
            if kind == "exhaustive":
                pycolmap.match_exhaustive(db, **common)
            elif kind == "spatial":
                pycolmap.match_spatial(db, pairing_options=_spatial(settings), **common)
            else:
                pycolmap.match_sequential(db, pairing_options=_sequential(settings), **common)


def plan_pairs(db: Path, plan: MatchPlan, settings: SfmSettings) -> list[tuple[str, str]]:
    """The image pairs (by name) the plan's matchers choose, each once."""
    database = pycolmap.Database.open(str(db))
    try:
        names = {im.image_id: im.name for im in database.read_all_images()}
        pairs: dict[tuple[str, str], None] = {}
        for kind in plan.matchers:
            for a, b in _generator(kind, settings, database).all_pairs():
                pairs[tuple(sorted((names[a], names[b])))] = None
    finally:
        database.close()
    pairs.update(dict.fromkeys(plan.capture_pairs))
    return list(pairs)


def _generator(kind: str, settings: SfmSettings, database: pycolmap.Database
               ) -> pycolmap.PairGenerator:
    if kind == "exhaustive":
        return pycolmap.ExhaustivePairGenerator(pycolmap.ExhaustivePairingOptions(), database)
    if kind == "spatial":
        return pycolmap.SpatialPairGenerator(_spatial(settings), database)
    return pycolmap.SequentialPairGenerator(_sequential(settings), database)


def _spatial(settings: SfmSettings) -> pycolmap.SpatialPairingOptions:
    return options(pycolmap.SpatialPairingOptions, max_num_neighbors=settings.spatial_neighbors,
                   max_distance=settings.spatial_max_distance_m, ignore_z=True)


def _sequential(settings: SfmSettings) -> pycolmap.SequentialPairingOptions:
    return options(pycolmap.SequentialPairingOptions, overlap=settings.sequential_overlap)
