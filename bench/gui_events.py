"""Benchmark: what the window costs a run that emits many events, and how fast it replays a log.

Baseline: the runner on a stage emitting N TrainMetrics into logs/events.jsonl only (what the CLI
does, minus printing). Measured: the same run started from the window (worker thread, signals,
model, throttled charts), and opening a project whose log holds those N events.
Run under Xvfb or offscreen:  QT_QPA_PLATFORM=offscreen python bench/gui_events.py [N]
Prints a table and writes bench/results/gui_events.json.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtWidgets import QApplication  # noqa: E402

from app.pipeline.events import TrainMetrics  # noqa: E402
from app.pipeline.project import Project  # noqa: E402
from app.pipeline.stage import CancelToken, Stage, StageContext  # noqa: E402
from app.ui.jobs import run_stages  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402


class Chatty(Stage):
    """A stage that only emits N training reports."""

    name = "train"

    def __init__(self, n: int) -> None:
        self.n = n

    def run(self, ctx: StageContext) -> dict:
        for step in range(self.n):
            ctx.emit(TrainMetrics(stage="train", step=step, total_steps=self.n, loss=1 / (step + 1),
                                  psnr=20.0 if step % 100 == 0 else None,
                                  num_gaussians=1000 + step, it_per_s=50.0))
        return {"steps": self.n}


def fresh_project(base: Path, name: str) -> Project:
    (base / "flight").mkdir(exist_ok=True)
    return Project.open(base / name, source=base / "flight")


def main(n: int = 20_000) -> dict:
    app = QApplication.instance() or QApplication([])
    base = Path(tempfile.mkdtemp(prefix="gui-bench-"))

    project = fresh_project(base, "cli")
    with project:
        t0 = time.perf_counter()
        run_stages(project, [Chatty(n)], emit=lambda e: None, cancel=CancelToken(),
                   from_stage="train")
        baseline = time.perf_counter() - t0

    win = MainWindow(stages=lambda: [Chatty(n)], with_viewer=False)
    win.show()
    win.new_project(base / "flight", base / "gui")
    t0 = time.perf_counter()
    win.run()
    while win.busy:
        app.processEvents()
    win.flush()
    gui = time.perf_counter() - t0
    assert len(win.model.train.step) == n, "every event reached the charts"

    t0 = time.perf_counter()
    win.open_project(base / "cli")
    replay = time.perf_counter() - t0
    assert len(win.model.train.step) == n
    win.close()

    rows = [("run, events to events.jsonl only (baseline)", baseline, 1.0),
            ("run from the window (worker + model + charts)", gui, gui / baseline),
            ("open project: replay the log into the charts", replay, replay / baseline)]
    print(f"{n:,} TrainMetrics events")
    print(f"{'case':50s} {'seconds':>8s} {'x baseline':>10s}")
    for label, secs, ratio in rows:
        print(f"{label:50s} {secs:8.2f} {ratio:10.2f}")
    result = {"events": n, "baseline_s": baseline, "gui_s": gui, "replay_s": replay,
              "gui_ratio": gui / baseline, "replay_ratio": replay / baseline}
    out = Path(__file__).resolve().parent / "results" / "gui_events.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
