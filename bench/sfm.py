"""SfM benchmark on brighton_beach: our default settings against the in-run pycolmap baseline.

Candidates run alternately (the order rotates each round) on fresh projects; the table shows
medians and the speed ratio against the baseline measured in the same run, beside registered
images, points, reprojection error, GPS residual and focal length against the reference.

    python bench/sfm.py [--rounds 3] [--out bench/sfm.json] [--candidates default,baseline]
"""

from __future__ import annotations

import argparse
import json
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
from tests.sfm_helpers import BRIGHTON, FIXTURES, run_sfm  # noqa: E402

IMAGES = BRIGHTON
REFERENCE = FIXTURES / "opensfm_brighton" / "reconstruction.json"

# the anchor: 1600 px SIFT (pycolmap's default upsampling octave), 8192 features,
# spatial matching with 12 neighbours, GPS priors, incremental mapping with pycolmap's options
BASELINE = {"max_image_size": 1600, "max_num_features": 8192, "first_octave": -1,
            "matcher": "spatial", "spatial_neighbors": 12, "ba_global_max_num_iterations": -1,
            "ba_global_frames_ratio": 1.1, "ba_local_max_refinements": 2,
            "keep_two_view_tracks": False, "focal_policy": "refine",
            "max_reprojection_error_px": 10.0}
CANDIDATES = {
    "baseline": BASELINE,
    "default": {},
    "fast": {"max_image_size": 1200},
}


def reference_focal() -> float:
    """OpenSfM's optimised focal length on this flight, in pixels (the fixture)."""
    data = json.loads(REFERENCE.read_text())
    cam = next(iter(data[0]["cameras"].values()))
    return float(cam["focal"]) * max(cam["width"], cam["height"])


def run_once(name: str, settings: dict, workdir: Path) -> dict:
    """One fresh SfM run; returns its figures."""
    root = workdir / f"{name}-{time.time_ns()}"
    project = Project.open(root, source=IMAGES)
    t0 = time.perf_counter()
    ok, _ = run_sfm(project, **settings)
    wall = time.perf_counter() - t0
    result = {"name": name, "ok": ok, "stage_wall_s": wall}
    if ok:
        stats = json.loads(project.paths.sfm_stats.read_text())
        cam = next(iter(stats["focal"]["cameras"].values()))
        result.update(
            sfm_s=stats["timings"]["features_and_matching_s"] + stats["timings"]["mapping_s"],
            registered=stats["registered_images"], points=stats["points"],
            reproj_px=stats["mean_reprojection_error"], gps_mean_m=stats["gps_residual_m"],
            focal_px=cam["focal_px"])
    shutil.rmtree(root, ignore_errors=True)
    return result


def run_isolated(name: str, workdir: Path) -> dict:
    """run_once in a child process, so a crash of pycolmap (seen: SIGBUS under memory
    pressure on this shared machine) is recorded as a failed run instead of ending the bench."""
    proc = subprocess.run([sys.executable, __file__, "--one", name, "--workdir", str(workdir)],
                          capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode == 0 and lines:
        return json.loads(lines[-1])
    return {"name": name, "ok": False, "exit": proc.returncode}


def main() -> int:
    """Run the rounds, print the table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--candidates", default="baseline,default,fast")
    parser.add_argument("--out", type=Path, default=Path("bench/sfm.json"))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_once(args.one, CANDIDATES[args.one], args.workdir)))
        return 0
    if not IMAGES.is_dir():
        print(f"skipped: {IMAGES} is absent")
        return 0
    names = args.candidates.split(",")
    ref = reference_focal()
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="sfm-bench-") as tmp:
        for r in range(args.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                res = run_isolated(name, Path(tmp))
                runs.append(res)
                print(json.dumps(res), flush=True)
    table = summarise(runs, names, ref)
    print_table(table, ref)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"reference_focal_px": ref, "runs": runs, "summary": table,
                                    "candidates": {n: CANDIDATES[n] for n in names}}, indent=2))
    return 0


def summarise(runs: list[dict], names: list[str], ref: float) -> dict[str, dict]:
    """Medians per candidate and the speed ratio against the baseline."""
    table: dict[str, dict] = {}
    for name in names:
        ok = [r for r in runs if r["name"] == name and r["ok"]]
        if not ok:
            table[name] = {"ok_runs": 0}
            continue
        med = {k: statistics.median(r[k] for r in ok) for k in
               ("sfm_s", "stage_wall_s", "registered", "points", "reproj_px", "gps_mean_m",
                "focal_px")}
        med["focal_vs_reference"] = med["focal_px"] / ref - 1.0
        med["ok_runs"] = len(ok)
        table[name] = med
    base = table.get("baseline", {}).get("sfm_s")
    for med in table.values():
        if base and "sfm_s" in med:
            med["speedup_vs_baseline"] = base / med["sfm_s"]
    return table


def print_table(table: dict[str, dict], ref: float) -> None:
    """Human table of the medians."""
    print(f"\nreference focal (OpenSfM) {ref:.0f} px; medians; speedup = baseline sfm_s / sfm_s")
    print(f"{'candidate':10s} {'runs':>4s} {'sfm_s':>7s} {'stage_s':>7s} {'speedup':>7s} "
          f"{'reg':>4s} {'points':>7s} {'reproj':>6s} {'gps_m':>6s} {'focal':>6s} {'f_err':>6s}")
    for name, m in table.items():
        if not m.get("ok_runs"):
            print(f"{name:10s} failed")
            continue
        print(f"{name:10s} {m['ok_runs']:4d} {m['sfm_s']:7.1f} {m['stage_wall_s']:7.1f} "
              f"{m.get('speedup_vs_baseline', float('nan')):7.2f} {m['registered']:4.0f} "
              f"{m['points']:7.0f} {m['reproj_px']:6.2f} {m['gps_mean_m']:6.2f} "
              f"{m['focal_px']:6.0f} {m['focal_vs_reference']:+6.1%}")


if __name__ == "__main__":
    sys.exit(main())
