"""GPU training benchmark (called by bench/gpu/run.sh after gsplat is installed and built).

Trains the sample flight and brighton_beach for a fixed number of steps with two settings:
`spaceport` (our defaults: DefaultStrategy with a 1M Gaussian budget, images at <= 1600 px) and
`simple_trainer` (gsplat examples/simple_trainer.py defaults: the same learning rates, loss and
schedule, no Gaussian cap), plus `mcmc` on request. Prints steps/s, peak GPU memory, Gaussian
count and held-out PSNR; writes bench/gpu/results/train_gpu.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from train_runs import ROOT, prepare, table, train, write  # noqa: E402

from app.pipeline.synthetic import generate_flight  # noqa: E402
from app.pipeline.train.settings import TrainSettings  # noqa: E402

CONFIGS = {
    "spaceport": {},
    "simple_trainer": {"max_gaussians": 10**9},
    "mcmc": {"strategy": "mcmc", "max_gaussians": 1_000_000},
}
BRIGHTON = [ROOT / "shared/data/brighton_beach/images",
            ROOT.parent / "shared/data/brighton_beach/images",
            Path("/work/shared/data/brighton_beach/images")]


def flights(names: list[str], work: Path) -> dict[str, Path]:
    """The flight folder of each requested dataset (the sample flight is generated)."""
    found = {}
    for name in names:
        if name == "sample":
            folder = work / "sample_flight"
            if not (folder / "ground_truth.json").exists():
                generate_flight(folder)
            found[name] = folder
        elif name == "brighton":
            folder = next((p for p in BRIGHTON if p.is_dir()), None)
            if folder is None:
                print("brighton_beach not found (looked in shared/data); skipped", file=sys.stderr)
                continue
            found[name] = folder
        else:
            raise SystemExit(f"unknown dataset {name!r} (sample, brighton)")
    return found


def main() -> None:
    """Prepare the datasets through SfM, train each config, print the table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=7000, help="30000 = the standard preset")
    ap.add_argument("--datasets", default="sample,brighton")
    ap.add_argument("--configs", default="spaceport,simple_trainer")
    ap.add_argument("--work", type=Path, default=ROOT / "bench/gpu/work")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/gpu/results/train_gpu.json")
    args = ap.parse_args()
    rows = []
    for name, flight in flights(args.datasets.split(","), args.work).items():
        project = prepare(flight, args.work / f"{name}_project")
        for config in args.configs.split(","):
            settings = TrainSettings(preset="standard", max_steps=args.steps, **CONFIGS[config])
            result = train(project, args.work / f"{name}_{config}", settings, "cuda")
            rows.append({"dataset": name, "config": config, **result})
            print(table(rows[-1:], COLUMNS), flush=True)
    print()
    print(table(rows, COLUMNS))
    write(args.out, rows)


COLUMNS = [("dataset", "dataset"), ("config", "config"), ("resolution", "size"),
           ("steps", "steps"), ("wall_s", "wall s"), ("steps_per_s", "steps/s"),
           ("peak_gpu_mem_gib", "peak GiB"), ("num_gaussians", "Gaussians"),
           ("initial_psnr", "untrained PSNR"), ("psnr", "PSNR"), ("ssim", "SSIM")]

if __name__ == "__main__":
    main()
