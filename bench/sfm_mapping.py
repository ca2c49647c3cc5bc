"""Mapping cost as flights grow: pycolmap's incremental options against ours, and global.

Builds a synthetic survey (default 60 images, 800x600) or takes --flight (e.g. bench/sfm.py's
12 MP surveys), extracts and matches once, then maps the same database with each candidate
alternately; prints medians with ratios against the first candidate. This is what
sfm.global_from_images is set from.

    python bench/sfm_mapping.py [--images 60 | --flight DIR] [--rounds 2]
                                [--candidates baseline,default,global] [--out FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # conftest: ../shared

from app.pipeline.project import Project  # noqa: E402
from app.pipeline.sfm.mapping import run_global, run_incremental  # noqa: E402
from app.pipeline.sfm.settings import SfmSettings  # noqa: E402
from app.pipeline.stage import CancelToken  # noqa: E402
from app.pipeline.synthetic import generate_flight  # noqa: E402
from tests.sfm_helpers import run_sfm  # noqa: E402

CANDIDATES = {
    "baseline": {"mapper": "incremental", "ba_global_max_num_iterations": -1,
                 "ba_global_frames_ratio": 1.1, "ba_local_max_refinements": 2,
                 "keep_two_view_tracks": False},
    "incremental": {"mapper": "incremental"},
    "global": {"mapper": "global"},
}


def map_once(db: Path, images: Path, name: str, workdir: Path) -> dict:
    """Map the database once with a candidate's settings."""
    settings = dataclasses.replace(SfmSettings(), **CANDIDATES[name])
    t0 = time.perf_counter()
    if settings.mapper == "global":
        models = run_global(db, images, workdir / f"g{time.time_ns()}", settings, CancelToken())
    else:
        models = run_incremental(db, images, settings, True, CancelToken(), lambda rec: None)
    wall = time.perf_counter() - t0
    best = models[0]
    return {"name": name, "mapping_s": wall, "registered": best.num_reg_images(),
            "points": best.num_points3D(),
            "reproj_px": float(best.compute_mean_reprojection_error())}


def main() -> int:
    """Build the flight and database, map alternately, print the table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--flight", type=Path, help="map this flight folder's photos instead")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--candidates", default="baseline,incremental,global")
    parser.add_argument("--out", type=Path, default=Path("bench/sfm_mapping.json"))
    args = parser.parse_args()
    names = args.candidates.split(",")
    runs = []
    with tempfile.TemporaryDirectory(prefix="sfm-mapping-") as tmp:
        flight = args.flight or Path(tmp) / "flight"
        if args.flight is None:
            generate_flight(flight, n_images=args.images, seed=5, width=800, height=600)
        project = Project.open(Path(tmp) / "project", source=flight)
        ok, _ = run_sfm(project, mapper="incremental")
        if not ok:
            print("the reference run failed:", project.record("sfm").reason)
            return 1
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                runs.append(map_once(project.paths.sfm_database, flight, name, Path(tmp)))
                print(json.dumps(runs[-1]), flush=True)
    base = statistics.median(r["mapping_s"] for r in runs if r["name"] == names[0])
    images = runs[0]["registered"] if args.flight else args.images
    print(f"\n{images} images ({args.flight or 'synthetic 800x600'}); medians; speedup = "
          f"{names[0]} mapping_s / mapping_s; load {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    print(f"{'candidate':10s} {'mapping_s':>9s} {'speedup':>7s} {'reg':>4s} {'points':>7s} "
          f"{'reproj':>6s}")
    summary = {}
    for name in names:
        own = [r for r in runs if r["name"] == name]
        med = {k: statistics.median(r[k] for r in own)
               for k in ("mapping_s", "registered", "points", "reproj_px")}
        med["speedup_vs_baseline"] = base / med["mapping_s"] if base else None
        summary[name] = med
        print(f"{name:10s} {med['mapping_s']:9.1f} {med['speedup_vs_baseline'] or 0:7.2f} "
              f"{med['registered']:4.0f} {med['points']:7.0f} {med['reproj_px']:6.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"images": images, "flight": str(args.flight),
                                    "runs": runs, "summary": summary,
                                    "candidates": {n: CANDIDATES[n] for n in names}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
