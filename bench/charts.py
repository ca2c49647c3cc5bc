"""Benchmark: what one redraw of the Training tab's charts costs the UI thread.

    xvfb-run -a -s "-screen 0 1280x1024x24" python bench/charts.py [--points N]
The four training charts at 880x540 px, fed N metrics one by one as a run reports them; each
refresh and repaint is timed on the UI thread. Our tick levels (charts.TICK_LEVELS) against
pyqtgraph's default of three (baseline), in the same process. Writes bench/results/charts.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.pipeline.events import StageStarted, TrainMetrics  # noqa: E402
from app.ui import charts  # noqa: E402
from app.ui.app import create_application  # noqa: E402
from app.ui.run_model import RunModel  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "charts.json"
PYQTGRAPH_LEVELS = 3


def redraws(app, levels: int, points: int) -> list[float]:
    """Milliseconds of each refresh + repaint while `points` metrics arrive."""
    tab = charts.TrainCharts()
    tab.resize(880, 540)
    for plot in (tab.loss_plot, tab.psnr_plot, tab.gaussians_plot, tab.speed_plot):
        for side in ("left", "bottom"):
            plot.getAxis(side).setStyle(maxTickLevel=levels - 1)
    tab.show()
    model = RunModel(["train"])
    model.apply(StageStarted(stage="train"))
    app.processEvents()
    times = []
    for i in range(1, points + 1):
        model.apply(TrainMetrics(stage="train", step=5 * i, total_steps=5 * points, loss=1 / i,
                                 psnr=20 + i / 50 if i % 5 == 0 else None,
                                 num_gaussians=5000 + 10 * i, it_per_s=10.0 + i % 7, eta_s=60.0))
        t0 = time.perf_counter()
        tab.refresh(model)
        tab.repaint()
        times.append((time.perf_counter() - t0) * 1000)
        app.processEvents()
    tab.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=120)
    args = parser.parse_args()
    app = create_application([])
    result = {}
    for name, levels in (("pyqtgraph default (baseline)", PYQTGRAPH_LEVELS),
                         ("ours", charts.TICK_LEVELS)):
        times = redraws(app, levels, args.points)
        result[name] = {"tick_levels": levels, "median_ms": round(statistics.median(times), 1),
                        "max_ms": round(max(times), 1)}
    base = result["pyqtgraph default (baseline)"]["median_ms"]
    RESULTS.write_text(json.dumps({"points": args.points, **result}, indent=1) + "\n")
    for name, r in result.items():
        print(f"{name:30s} {r['tick_levels']} tick levels: median {r['median_ms']:6.1f} ms, "
              f"max {r['max_ms']:6.1f} ms, {base / r['median_ms']:.1f}x the baseline's speed")


if __name__ == "__main__":
    main()
