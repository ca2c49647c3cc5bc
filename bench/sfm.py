"""SfM benchmark: our defaults against today's defaults (the in-run baseline), per flight.

Flights: brighton_beach (18 real DJI images) and synthetic surveys of 75 and 150 images at
4000x3000 with consumer-grade GPS (bench/sfm_flights.py; generated once into --cache);
"survey75-issue12" is survey75's photos with the GPS issue 12's real survey had.
Candidates run alternately on fresh projects, each in its own process (the order rotates
each round). Per run: seconds per phase (sfm/stats.json timings_s), registered images,
points, reprojection error, focal length against the reference, the gate's verdict (every
flight here is sound: the right verdict is a pass), the stated georeference accuracy and,
on synthetic flights, the real one against the ground truth.

    python bench/sfm.py [--flights brighton,survey75,survey150] [--rounds 1]
                        [--candidates today,default] [--cache DIR] [--out bench/sfm.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # conftest: ../shared

from app.pipeline.project import Project  # noqa: E402
from app.pipeline.runner import Runner  # noqa: E402
from app.pipeline.stages import default_stages  # noqa: E402
from bench.sfm_flights import (ISSUE12, degrade_gps, flight_folder, reference_focal,  # noqa: E402
                               truth_errors)
from tests.sfm_helpers import run_sfm  # noqa: E402

# the defaults before issue 12: incremental mapping, full-size decoding by pycolmap, GPS
# neighbours only, GPS assumed +-3 m / +-5 m with its heights, the fixed 10 m gate
TODAY = {"mapper": "incremental", "fast_decode": False, "matcher": "spatial",
         "gps_std_horizontal_m": 3.0, "gps_std_vertical_m": 5.0, "max_gps_residual_m": 10.0}
CANDIDATES = {
    "today": TODAY,
    "default": {},
    "incremental": {"mapper": "incremental"},  # our defaults with either mapper, to place
    "global": {"mapper": "global"},  # sfm.global_from_images
}
PHASES = ("extraction", "matching", "mapping", "alignment", "focal_check", "writing", "gate",
          "undistortion")
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / \
    "spaceport-bench"


def run_once(flight: str, name: str, cache: Path, workdir: Path) -> dict:
    """One fresh SfM run of a candidate on a flight; its figures."""
    images = flight_folder(flight, cache)
    root = workdir / f"{flight}-{name}-{time.time_ns()}"
    project = Project.open(root, source=images)
    t0 = time.perf_counter()
    with project:  # ingest on its own: its image measurements are not part of the SfM stage
        Runner(project, default_stages(), emit=lambda e: None).run(until="ingest")
    if flight.endswith("-issue12"):
        degrade_gps(project.paths, images, ISSUE12)
    t1 = time.perf_counter()
    ok, _ = run_sfm(project, **CANDIDATES[name])
    result = {"flight": flight, "name": name, "ok": ok, "ingest_s": t1 - t0,
              "sfm_wall_s": time.perf_counter() - t1}
    stats_path = project.paths.sfm_stats
    if stats_path.exists():
        stats = json.loads(stats_path.read_text())
        cam = next(iter(stats["focal"]["cameras"].values()))
        ref = reference_focal(flight, images)
        gate = stats.get("gate", {})
        result.update(
            phases={k: stats["timings_s"].get(k, 0.0) for k in PHASES},
            sfm_s=sum(stats["timings_s"].values()), mapper=stats.get("mapper"),
            registered=stats["registered_images"], images=len(stats["images"]),
            points=stats["points"], reproj_px=stats["mean_reprojection_error"],
            gps_mean_m=stats.get("gps_residual_m"), focal_px=cam["focal_px"],
            focal_vs_reference=cam["focal_px"] / ref - 1.0 if ref else None,
            gate_passed=gate.get("passed"),
            failures=[f["check"] for f in gate.get("failures", [])],
            warnings=[w["message"] for w in gate.get("warnings", [])],
            accuracy=stats.get("georeference_accuracy"),
            truth=truth_errors(images, project.paths.sfm))
    shutil.rmtree(root, ignore_errors=True)
    return result


def run_isolated(flight: str, name: str, cache: Path, workdir: Path) -> dict:
    """run_once in a child process, so a crash of pycolmap is a failed run, not the end."""
    proc = subprocess.run([sys.executable, __file__, "--one", f"{flight}:{name}", "--cache",
                           str(cache), "--workdir", str(workdir)], capture_output=True,
                          text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode == 0 and lines:
        return json.loads(lines[-1])
    return {"flight": flight, "name": name, "ok": False, "exit": proc.returncode,
            "stderr": proc.stderr[-2000:]}


def summarise(runs: list[dict], flights: list[str], names: list[str]) -> dict:
    """Medians per flight and candidate; speed-ups against today's defaults in the same run."""
    table: dict[str, dict] = {}
    for flight in flights:
        table[flight] = {}
        for name in names:
            done = [r for r in runs if r["flight"] == flight and r["name"] == name
                    and "sfm_s" in r]
            if not done:
                table[flight][name] = {"runs": 0}
                continue
            med = {k: statistics.median(r[k] for r in done)
                   for k in ("sfm_s", "registered", "points", "reproj_px")}
            med["phases"] = {p: statistics.median(r["phases"][p] for r in done) for p in PHASES}
            last = done[-1]
            med.update(runs=len(done), images=last["images"], mapper=last["mapper"],
                       gate_passed=[r["gate_passed"] for r in done],
                       focal_vs_reference=last["focal_vs_reference"], truth=last["truth"],
                       accuracy=last["accuracy"], failures=last["failures"])
            table[flight][name] = med
        base = table[flight].get("today", {}).get("sfm_s")
        for med in table[flight].values():
            if base and "sfm_s" in med:
                med["speedup_vs_today"] = base / med["sfm_s"]
    return table


def print_table(table: dict, load: str) -> None:
    """One block per flight: phases, totals, quality, the gate's verdict, accuracy."""
    print(f"\nmedians; speed-up = today's sfm_s / sfm_s (same run); load: {load}")
    for flight, rows in table.items():
        print(f"\n{flight}")
        print(f"{'candidate':12s} {'mapper':11s} {'extract':>7s} {'match':>6s} {'map':>6s} "
              f"{'undist':>6s} {'total':>6s} {'speedup':>7s} {'reg':>7s} {'points':>7s} "
              f"{'px':>5s} {'focal':>6s} {'gate':>5s} {'place_m':>7s} {'stated':>6s}")
        for name, m in rows.items():
            if not m.get("runs"):
                print(f"{name:12s} no successful run")
                continue
            p, truth, acc = m["phases"], m["truth"] or {}, m["accuracy"] or {}
            focal = m["focal_vs_reference"]
            print(f"{name:12s} {m['mapper'] or '-':11s} {p['extraction']:7.1f} "
                  f"{p['matching']:6.1f} {p['mapping']:6.1f} {p['undistortion']:6.1f} "
                  f"{m['sfm_s']:6.1f} {m.get('speedup_vs_today', float('nan')):7.2f} "
                  f"{m['registered']:3.0f}/{m['images']:<3d} {m['points']:7.0f} "
                  f"{m['reproj_px']:5.2f} {focal if focal is None else f'{focal:+.1%}':>6} "
                  f"{'pass' if all(m['gate_passed']) else 'FAIL':>5s} "
                  f"{truth.get('placement_m', float('nan')):7.2f} "
                  f"{acc.get('position_m', float('nan')):6.2f}")


def main() -> int:
    """Run the rounds, print the tables, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flights", default="brighton,survey75,survey150")
    parser.add_argument("--candidates", default="today,default")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--out", type=Path, default=Path("bench/sfm.json"))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        flight, name = args.one.split(":")
        print(json.dumps(run_once(flight, name, args.cache, args.workdir)))
        return 0
    flights = [f for f in args.flights.split(",") if flight_folder(f, args.cache) is not None]
    if not flights:
        print(f"skipped: none of {args.flights} is available")
        return 0
    names = args.candidates.split(",")
    runs: list[dict] = []
    loads = []
    with tempfile.TemporaryDirectory(prefix="sfm-bench-") as tmp:
        for flight in flights:
            for r in range(args.rounds):
                for name in names[r % len(names):] + names[:r % len(names)]:
                    loads.append(os.getloadavg()[0])
                    runs.append(run_isolated(flight, name, args.cache, Path(tmp)))
                    print(json.dumps(runs[-1]), flush=True)
    load = f"1-min load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores"
    table = summarise(runs, flights, names)
    print_table(table, load)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"load": load, "runs": runs, "summary": table,
                                    "candidates": {n: CANDIDATES[n] for n in names}},
                                   indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
