"""The default backend: pycolmap SIFT, data-driven matching and mapping with GPS priors."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pycolmap

from ..errors import StageError
from ..stage import StageContext
from .database import build_database
from .flight import Flight
from .geo import choose_origin
from .georeference import gps_targets
from .handoff import RawResult
from .mapping import choose_mapper, run_global, run_incremental
from .matching import plan_matching
from .stats import DatabaseCounts, counts_stats, database_counts, model_stats
from .timing import PhaseTimes

# progress fractions at which each phase starts
PHASES = {"decoding": (0.0, 0.05), "features": (0.05, 0.35), "matching": (0.35, 0.6),
          "mapping": (0.6, 0.88)}


def reconstruct(ctx: StageContext, flight: Flight) -> RawResult:
    """Run extraction, matching and mapping; the models found, largest first."""
    settings = ctx.settings
    paths = ctx.project.paths
    paths.sfm.mkdir(parents=True, exist_ok=True)
    origin = choose_origin(flight)
    targets = gps_targets(flight, origin, settings) if origin else None
    plan = plan_matching(flight, settings)
    ctx.log(f"matching: {' + '.join(plan.matchers)} ({plan.reason})")
    if origin is None:
        ctx.log("no image has GPS: the reconstruction will not be georeferenced", "warning")
    elif len(flight.with_gps) < len(flight.images):
        ctx.log(f"{len(flight.images) - len(flight.with_gps)} of {len(flight.images)} images "
                "have no GPS", "warning")
    total = len(flight.images)
    last_emit = [0.0]

    def on_progress(phase: str, done: int, of: int, counts: DatabaseCounts) -> None:
        lo, hi = PHASES[phase]
        message = {"decoding": f"extracting features: decoding {done}/{of} images",
                   "features": f"extracting features: {done}/{of} images",
                   "matching": f"matching: {done}/{of} pairs"}[phase]
        ctx.progress(lo + (hi - lo) * done / max(of, 1), message)
        if phase != "decoding":
            ctx.emit(counts_stats(counts, total, ctx.stage, phase))

    times = PhaseTimes()
    db = build_database(paths.sfm_database, flight, targets, plan, settings, ctx.cancel,
                        on_progress, times)
    if db.features_reused:
        ctx.log("reusing the extracted features (their settings did not change)")
    if db.matches_reused:
        ctx.log("reusing the matches (their settings did not change)")
    counts = database_counts(paths.sfm_database)
    ctx.emit(counts_stats(counts, total, ctx.stage, "matching"))
    if counts.matched_pairs == 0:
        raise StageError("No image pair could be matched: the images do not overlap or have "
                         "too little texture", hint="check that the flight folder holds one "
                         "overlapping survey; see sfm/stats.json for features per image",
                         path=paths.sfm_database)

    def on_model(rec: pycolmap.Reconstruction) -> None:
        now = time.monotonic()
        if now - last_emit[0] < 0.5:
            return
        last_emit[0] = now
        ctx.progress(PHASES["mapping"][0] + (PHASES["mapping"][1] - PHASES["mapping"][0])
                     * rec.num_reg_images() / max(1, total),
                     f"mapping: {rec.num_reg_images()}/{total} images registered")
        ctx.emit(model_stats(rec, counts, total, ctx.stage, "mapping"))

    use_priors = settings.use_gps_prior and db.pose_priors >= 3
    mapper, why = choose_mapper(settings, total)
    ctx.log(f"mapping: {mapper} ({why})")
    with times.phase("mapping"):
        if mapper == "global":
            ctx.progress(PHASES["mapping"][0], f"mapping (global): {total} images")
            with tempfile.TemporaryDirectory(dir=paths.sfm, prefix=".global-") as tmp:
                models = run_global(paths.sfm_database, flight.source, Path(tmp), settings,
                                    ctx.cancel)
        else:
            models = run_incremental(paths.sfm_database, flight.source, settings, use_priors,
                                     ctx.cancel, on_model)
    if not models:
        raise StageError(f"Nothing could be reconstructed: no image pair gave a usable start "
                         f"({counts.matched_pairs} matched pairs)",
                         hint="the flight needs more overlap between images (70 % or more), or "
                              "try exhaustive matching (setting sfm.matcher = exhaustive)",
                         path=paths.sfm_database, action="relax_setting:sfm.matcher")
    return RawResult(models=models, image_path=flight.source, counts=counts,
                     focal_priors=db.focal_priors,
                     extra={"matching": plan.to_dict(), "mapper": mapper,
                            "gps_priors_in_mapping": use_priors,
                            "exif_pose_priors": db.exif_pose_priors,
                            "pose_priors": db.pose_priors,
                            "features_reused": db.features_reused,
                            "matches_reused": db.matches_reused}, timings=times)

