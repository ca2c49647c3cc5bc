"""Benchmark: time to generate the sample flight (target: 24 images at 1024x768 in < 30 s).

Prints a table and writes JSON. Phases are timed separately; the baseline, measured in the same
run, is re-encoding the produced JPEGs with Pillow (the floor any generator pays to write them).
Run: python bench/sample_flight.py [--images 24 --width 1024 --height 768 --out FILE]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402

from app.pipeline.synthetic import generate_flight  # noqa: E402
from app.pipeline.synthetic.flight import survey  # noqa: E402
from app.pipeline.synthetic.render import cast, shade  # noqa: E402

BUDGET_S = 30.0


def _timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def run(n_images: int, width: int, height: int, seed: int) -> dict:
    """Time the whole generator, its phases, and the JPEG re-encode baseline."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "flight"
        total, _ = _timed(generate_flight, folder, n_images=n_images, seed=seed, width=width,
                          height=height)
        world_s, (plan, world) = _timed(survey, n_images, seed, width, height)
        cast_s = shade_s = 0.0
        for shot in plan.shots:
            dt, hits = _timed(cast, world, plan.camera, shot.R, shot.position)
            cast_s += dt
            shade_s += _timed(shade, world, hits)[0]
        start = time.perf_counter()
        for path in sorted(folder.glob("*.JPG")):
            with Image.open(path) as im:
                im.save(io.BytesIO(), format="JPEG", quality=92)
        baseline = time.perf_counter() - start
    return {"images": n_images, "width": width, "height": height, "seed": seed,
            "total_s": total, "per_image_s": total / n_images, "world_s": world_s,
            "ray_cast_s": cast_s, "shade_s": shade_s, "baseline_jpeg_reencode_s": baseline,
            "ratio_to_baseline": total / baseline, "budget_s": BUDGET_S,
            "ratio_to_budget": total / BUDGET_S}


def main() -> int:
    """Parse arguments, run, print the table, write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=24)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--height", type=int, default=768)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=Path("bench/results/sample_flight.json"))
    args = ap.parse_args()
    rows = [run(12, 640, 480, 3), run(args.images, args.width, args.height, args.seed)]
    print(f"{'flight':>16} {'total s':>8} {'s/img':>6} {'world s':>8} {'cast s':>7} "
          f"{'shade s':>8} {'jpeg s':>7} {'x jpeg':>7} {'x budget':>9}")
    for r in rows:
        print(f"{r['images']:>3} @ {r['width']}x{r['height']:<5} {r['total_s']:8.2f} "
              f"{r['per_image_s']:6.2f} {r['world_s']:8.2f} {r['ray_cast_s']:7.2f} "
              f"{r['shade_s']:8.2f} {r['baseline_jpeg_reencode_s']:7.2f} "
              f"{r['ratio_to_baseline']:7.1f} {r['ratio_to_budget']:9.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"runs": rows}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0 if rows[-1]["total_s"] < BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
