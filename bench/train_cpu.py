"""Benchmark: the sample flight trained end to end on the CPU (the preview a laptop gets).

Run from the repository root:  python bench/train_cpu.py [--work DIR] [--out FILE]
Generates the sample flight (`spaceport demo`'s default), runs ingest and SfM, then trains with
the default settings on the CPU. Prints a table and writes JSON. The baseline measured in the
same run is the untrained model (the Gaussians as initialised from the sparse points): held-out
PSNR is reported for both, and the training time against the 5-minute target.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from train_runs import ROOT, prepare, table, train, write

from app.pipeline.synthetic import generate_flight
from app.pipeline.train.settings import TrainSettings


def main() -> None:
    """Prepare the sample flight, train on CPU, report."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "spaceport-bench-train")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "train_cpu.json")
    ap.add_argument("--steps", type=int, default=None, help="override train.cpu_max_steps")
    args = ap.parse_args()
    flight = args.work / "flight"
    if not (flight / "ground_truth.json").exists():
        generate_flight(flight)
    t0 = time.perf_counter()
    project = prepare(flight, args.work / "project")
    sfm_s = time.perf_counter() - t0
    settings = TrainSettings()
    if args.steps:
        settings.cpu_max_steps = args.steps
    result = train(project, args.work / "train", settings, "cpu")
    result.update(sfm_s=round(sfm_s, 1), target_s=300, time_ratio=round(result["wall_s"] / 300, 2),
                  psnr_gain_db=round(result["psnr"] - result["initial_psnr"], 2))
    print(table([result], [("steps", "steps"), ("wall_s", "train s"), ("time_ratio", "/ 5 min"),
                           ("steps_per_s", "steps/s"), ("num_gaussians", "Gaussians"),
                           ("initial_psnr", "untrained PSNR"), ("psnr", "PSNR"),
                           ("psnr_gain_db", "gain dB"), ("ssim", "SSIM")]))
    write(args.out, result)


if __name__ == "__main__":
    main()
