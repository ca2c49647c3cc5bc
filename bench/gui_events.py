"""Benchmark: does the window stay responsive, and how fast does it show a project?

Run under Xvfb (the 3D view needs OpenGL):
    xvfb-run -a -s "-screen 0 1280x1024x24" python bench/gui_events.py [--flight DIR] [--steps N]
Prints a table and writes bench/results/gui_events.json. Measured in one process, each figure
beside its baseline from the same run (load from other programs affects both alike):

- UI thread stalls: a 10 ms timer on the UI thread records every gap between its ticks while
  the window runs the whole pipeline on a real flight (brighton_beach) in its child process;
  the longest gap per stage, against the longest gap of the idle window (baseline).
- Window shown to project visible: a new MainWindow shown and the finished project opened until
  its stage list and Flight tab are filled, against an empty QMainWindow shown (baseline).
- A 1,000-image flight's first screen of thumbnails: New project on 1,000 photos (hard links
  to the flight's) until every thumbnail in view is decoded, against decoding as many thumbnails
  one after the other without a window (baseline).
- Replaying a 20,000-event log on open, against parsing the log alone (baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEventLoop, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QMainWindow  # noqa: E402

from app.pipeline.events import JsonlSink, TrainMetrics, read_events  # noqa: E402
from app.pipeline.project import Project  # noqa: E402
from app.ui.app import create_application, opengl_available  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402
from app.ui.thumbnails import THUMB, decode_thumbnail  # noqa: E402

BRIGHTON = next((p / "shared" / "data" / "brighton_beach" / "images"  # beside the checkout
                 for p in Path(__file__).resolve().parents[1:4]
                 if (p / "shared" / "data").is_dir()), Path("shared/data/brighton_beach/images"))
RESULTS = Path(__file__).resolve().parent / "results" / "gui_events.json"


class UiProbe:
    """A 10 ms timer on the UI thread: the gaps between its ticks are how long the UI froze.

    Each gap also records the UI thread's own CPU time and the whole process's in it: a long gap
    with little CPU anywhere in the process is the machine's other load (2 shared cores), one
    with the UI thread busy is work on the UI thread, one with the process busy elsewhere is a
    wait for the interpreter (a pool thread holding the GIL).
    """

    def __init__(self, label: Callable[[], str]) -> None:
        self.label = label
        self.gaps: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._tick)
        self._last = (0.0, 0.0, 0.0)

    @staticmethod
    def _clocks() -> tuple[float, float, float]:
        return time.perf_counter(), time.thread_time(), time.process_time()

    def start(self) -> None:
        """Start ticking (gaps are recorded under the label current at each tick)."""
        self._last = self._clocks()
        self._timer.start()

    def stop(self) -> None:
        """Stop ticking."""
        self._timer.stop()

    def _tick(self) -> None:
        now = self._clocks()
        wall, ui, proc = ((a - b) * 1000 for a, b in zip(now, self._last))
        self.gaps[self.label()].append((wall, ui, proc))
        self._last = now

    def worst(self) -> dict[str, dict[str, float]]:
        """Per label: the longest gap with its UI-thread and process CPU ms, gaps over 50 ms,
        the longest UI-thread CPU time in one gap, ticks seen."""
        out = {}
        for label, gaps in self.gaps.items():
            wall, ui, proc = max(gaps)
            out[label] = {"max_ms": round(wall, 1), "max_gap_ui_cpu_ms": round(ui, 1),
                          "max_gap_process_cpu_ms": round(proc, 1),
                          "max_ui_cpu_ms": round(max(g[1] for g in gaps), 1),
                          "over_50ms": sum(g[0] > 50 for g in gaps), "ticks": len(gaps)}
        return out


def run_until(done: Callable[[], bool], timeout_s: float) -> float:
    """Run the Qt event loop (as the app does) until `done()`; seconds it took."""
    loop, t0 = QEventLoop(), time.perf_counter()
    check = QTimer()
    check.timeout.connect(lambda: loop.quit() if done() or time.perf_counter() - t0 > timeout_s
                          else None)
    check.start(5)
    if not done():
        loop.exec()
    check.stop()
    if not done():
        raise TimeoutError(f"not done after {timeout_s:.0f} s")
    return time.perf_counter() - t0


def idle_baseline(seconds: float = 3.0) -> dict[str, float]:
    """The idle window's longest gap: the timer's own jitter under today's load."""
    probe = UiProbe(lambda: "idle")
    probe.start()
    end = time.perf_counter() + seconds
    run_until(lambda: time.perf_counter() >= end, seconds + 5)
    probe.stop()
    return probe.worst()["idle"]


def pipeline_run(flight: Path, base: Path, steps: int,
                 viewer: bool) -> tuple[dict, dict, Path, float]:
    """The whole pipeline on `flight` from the window, probed; (per stage, idle, project, s)."""
    win = MainWindow(with_viewer=viewer)
    win.show()
    root = base / "project"
    project = Project.open(root, source=flight)
    for key, value in (("train.max_steps", str(steps)),
                       ("train.preview_every", str(max(1, steps // 4)))):
        project.settings.set(key, value)
    project.save()
    assert win.open_project(root)
    run_until(lambda: not win.pool.busy(), 120)  # the project's files read, GPUs listed
    idle = idle_baseline()
    probe = UiProbe(lambda: win.model.running or ("starting" if win.busy else "after"))
    probe.start()
    t0 = time.perf_counter()
    assert win.run()
    run_until(lambda: not win.busy, 3600)
    seconds = time.perf_counter() - t0
    probe.stop()
    states = {n: v.state for n, v in win.model.stages.items()}
    assert set(states.values()) == {"done"}, f"the run did not finish: {states}"
    win.shutdown()
    win.close()
    return probe.worst(), idle, root, seconds


def exposed(widget) -> bool:
    """True once the window system shows the widget's window."""
    handle = widget.windowHandle()
    return handle is not None and handle.isExposed()


def show_project(root: Path, viewer: bool) -> dict[str, float]:
    """Seconds from a new window to the project visible, against an empty window shown."""
    t0 = time.perf_counter()
    empty = QMainWindow()
    empty.show()
    run_until(lambda: exposed(empty), 10)
    baseline = time.perf_counter() - t0
    empty.close()
    t0 = time.perf_counter()
    win = MainWindow(with_viewer=viewer)
    built = time.perf_counter() - t0
    win.show()
    run_until(lambda: exposed(win), 10)
    shown = time.perf_counter() - t0
    assert win.open_project(root)
    run_until(lambda: win.tabs.isVisible() and win.stage_list.topLevelItemCount() > 0, 10)
    visible = time.perf_counter() - t0
    run_until(lambda: len(win.flight.images.images) > 0, 60)
    filled = time.perf_counter() - t0
    win.close()
    return {"baseline_empty_window_s": baseline, "window_built_s": built,
            "window_shown_s": shown, "project_visible_s": visible, "flight_tab_filled_s": filled}


def thousand_thumbnails(flight: Path, base: Path, n: int = 1000) -> dict[str, float]:
    """A n-image flight (hard links): seconds to its first screen of thumbnails, and baseline."""
    big = base / "thousand"
    big.mkdir()
    photos = sorted(p for p in flight.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    for i in range(n):
        os.link(photos[i % len(photos)], big / f"IMG_{i:05d}{photos[i % len(photos)].suffix}")
    win = MainWindow(with_viewer=False)
    win.resize(1280, 800)
    win.show()
    run_until(lambda: win.isVisible(), 10)
    probe = UiProbe(lambda: "thumbnails")
    probe.start()
    t0 = time.perf_counter()
    assert win.new_project(big, base / "thousand-project")
    model = win.flight.model
    run_until(lambda: len(win.flight.images.images) == n, 120)
    listed = time.perf_counter() - t0
    run_until(lambda: bool(model.decoded) and model.loading == 0, 120)
    first_screen = time.perf_counter() - t0
    probe.stop()
    shown = len(model.decoded)
    win.close()
    t0 = time.perf_counter()
    for i in range(shown):
        decode_thumbnail(big / f"IMG_{i:05d}{photos[i % len(photos)].suffix}", THUMB)
    serial = time.perf_counter() - t0
    t0 = time.perf_counter()
    from PIL import Image

    with Image.open(photos[0]) as im:
        im.convert("RGB").thumbnail((THUMB, THUMB))  # without draft: the whole photo decoded
    full_one = time.perf_counter() - t0
    return {"images": n, "thumbnails_in_view": shown, "listed_s": listed,
            "first_screen_s": first_screen, "baseline_serial_draft_decode_s": serial,
            "one_full_decode_s": full_one, "ui": probe.worst()["thumbnails"]}


def replay(base: Path, n: int = 20_000) -> dict[str, float]:
    """Opening a project whose log holds n events, against parsing that log alone."""
    (base / "replay-flight").mkdir()
    project = Project.open(base / "replay", source=base / "replay-flight")
    sink = JsonlSink(project.paths.events)
    for step in range(n):
        sink(TrainMetrics(stage="train", step=step, total_steps=n, loss=1 / (step + 1),
                          psnr=20.0 if step % 100 == 0 else None, num_gaussians=1000 + step,
                          it_per_s=50.0))
    sink.close()
    t0 = time.perf_counter()
    assert len(read_events(project.paths.events)) == n
    parse = time.perf_counter() - t0
    win = MainWindow(with_viewer=False)
    win.show()
    t0 = time.perf_counter()
    assert win.open_project(project.root)
    win.flush()
    opened = time.perf_counter() - t0
    assert len(win.model.train.step) == n
    win.close()
    return {"events": n, "baseline_parse_s": parse, "open_with_replay_s": opened}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flight", type=Path, default=BRIGHTON)
    parser.add_argument("--steps", type=int, default=100, help="CPU training steps of the run")
    parser.add_argument("--no-viewer", action="store_true",
                        help="leave the 3D view out (to tell the window's stalls from its own)")
    args = parser.parse_args()
    if not args.flight.is_dir():
        sys.exit(f"no flight at {args.flight}: pass --flight DIR")
    create_application([])
    viewer = opengl_available() and not args.no_viewer
    base = Path(tempfile.mkdtemp(prefix="gui-bench-"))
    stages, idle, root, run_s = pipeline_run(args.flight, base, args.steps, viewer)
    shown = show_project(root, viewer)
    thumbs = thousand_thumbnails(args.flight, base)
    rep = replay(base)
    result = {"flight": str(args.flight), "train_steps": args.steps, "viewer": viewer,
              "load": os.getloadavg(),
              "run_s": run_s, "idle": idle, "stalls": stages, "show_project": shown,
              "thumbnails": thumbs, "replay": rep}
    print(f"flight {args.flight}, CPU training {args.steps} steps, 3D view "
          f"{'on' if viewer else 'off'}, whole run {run_s:.0f} s; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'UI thread':24s} {'longest gap':>11s} {'x idle':>7s} {'its UI CPU':>10s} "
          f"{'its proc CPU':>12s} {'max UI CPU':>10s} {'>50 ms':>7s}  (ms)")
    for name, w in {"idle (baseline)": idle, **stages}.items():
        print(f"{name:24s} {w['max_ms']:11.1f} {w['max_ms'] / idle['max_ms']:7.2f} "
              f"{w['max_gap_ui_cpu_ms']:10.1f} {w['max_gap_process_cpu_ms']:12.1f} "
              f"{w['max_ui_cpu_ms']:10.1f} {w['over_50ms']:7d}")
    b = shown["baseline_empty_window_s"]
    print(f"{'empty window shown (baseline)':40s} {b:7.3f} s")
    for key, label in (("window_built_s", "MainWindow built"), ("window_shown_s", "shown"),
                       ("project_visible_s", "project visible"),
                       ("flight_tab_filled_s", "Flight tab filled")):
        print(f"{'  ' + label:40s} {shown[key]:7.3f} s ({shown[key] / b:.1f}x)")
    t = thumbs
    print(f"{t['images']} images: {t['thumbnails_in_view']} thumbnails in view")
    print(f"{'  decoded one by one (baseline)':40s} {t['baseline_serial_draft_decode_s']:7.3f} s")
    print(f"{'  first screen in the window':40s} {t['first_screen_s']:7.3f} s "
          f"({t['first_screen_s'] / t['baseline_serial_draft_decode_s']:.2f}x), listed in "
          f"{t['listed_s']:.3f} s, longest UI gap {t['ui']['max_ms']:.0f} ms (UI CPU in it "
          f"{t['ui']['max_gap_ui_cpu_ms']:.0f} ms; longest UI CPU {t['ui']['max_ui_cpu_ms']:.0f})")
    print(f"{'  (one photo decoded without draft)':40s} {t['one_full_decode_s']:7.3f} s")
    print(f"{rep['events']:,} events: parse {rep['baseline_parse_s']:.2f} s (baseline), open with "
          f"replay {rep['open_with_replay_s']:.2f} s "
          f"({rep['open_with_replay_s'] / rep['baseline_parse_s']:.1f}x)")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
