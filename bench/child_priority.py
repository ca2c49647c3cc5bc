"""Benchmark: does running the window's child at a lower CPU priority keep the UI responsive,
and does it slow the run?

    xvfb-run -a -s "-screen 0 1280x1024x24" python bench/child_priority.py [--flight DIR]
        [--steps N] [--rounds R] [--load N]
The whole pipeline on a real flight (brighton_beach) from the window, probed with a 10 ms timer
on the UI thread (bench/gui_events.py), once with the child at the window's priority (nice 0,
the baseline) and once at `CHILD_NICE`, alternating for R rounds in one process, with N other
CPU-bound processes running (a busy desktop). Prints per stage the longest UI gap and the gaps
over 50 ms, and the run's wall time; writes bench/results/child_priority_load<N>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.gui_events import BRIGHTON, pipeline_run  # noqa: E402

from app.ui import child_run  # noqa: E402
from app.ui.app import create_application, opengl_available  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
STAGES = ("starting", "ingest", "sfm", "train", "compress")


def one_run(flight: Path, steps: int, nice: int, viewer: bool) -> dict:
    """The probed pipeline run with the window's children at `nice`."""
    child_run.CHILD_NICE = nice
    stages, idle, _, seconds = pipeline_run(flight, Path(tempfile.mkdtemp(prefix="nice-bench-")),
                                            steps, viewer)
    return {"nice": nice, "run_s": round(seconds, 1), "idle": idle, "stalls": stages,
            "load": os.getloadavg()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flight", type=Path, default=BRIGHTON)
    parser.add_argument("--steps", type=int, default=100, help="CPU training steps of each run")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--load", type=int, default=0, help="other CPU-bound processes to run")
    args = parser.parse_args()
    if not args.flight.is_dir():
        sys.exit(f"no flight at {args.flight}: pass --flight DIR")
    create_application([])
    viewer = opengl_available()
    lowered = child_run.CHILD_NICE
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.load)]
    try:
        runs = [one_run(args.flight, args.steps, nice, viewer)
                for _ in range(args.rounds) for nice in (0, lowered)]
    finally:
        for hog in hogs:
            hog.kill()
    (RESULTS / f"child_priority_load{args.load}.json").write_text(json.dumps(
        {"flight": str(args.flight), "train_steps": args.steps, "viewer": viewer,
         "cores": os.cpu_count(), "other_cpu_bound_processes": args.load, "runs": runs},
        indent=1) + "\n")
    print(f"flight {args.flight}, {args.steps} CPU training steps, 3D view "
          f"{'on' if viewer else 'off'}, {os.cpu_count()} cores, {args.load} other CPU-bound "
          f"processes; UI gaps: longest ms / over 50 ms")
    print(f"{'child nice':>10s} {'run s':>6s} {'idle':>6s} "
          + " ".join(f"{s:>14s}" for s in STAGES))
    for run in runs:
        cells = " ".join(f"{run['stalls'][s]['max_ms']:8.0f} / {run['stalls'][s]['over_50ms']:3d}"
                         if s in run["stalls"] else f"{'-':>14s}" for s in STAGES)
        print(f"{run['nice']:10d} {run['run_s']:6.0f} {run['idle']['max_ms']:6.0f} {cells}")
    for nice in (0, lowered):
        mine = [r for r in runs if r["nice"] == nice]
        over = sum(sum(w["over_50ms"] for w in r["stalls"].values()) for r in mine)
        print(f"nice {nice}: {over} gaps over 50 ms in all, mean run "
              f"{sum(r['run_s'] for r in mine) / len(mine):.0f} s")


if __name__ == "__main__":
    main()
