"""Walk through the window as an operator would, with a 10 ms probe on the UI thread, saving
screenshots: New project from a flight (the dialog), Stop after SfM, inspect the images, run
the rest, close the window mid-run (keep running), reopen the project (it attaches), finish.

    xvfb-run -a -s "-screen 0 1280x1024x24" python bench/gui_walkthrough.py [--flight DIR]
        [--out DIR] [--steps N]
Prints the longest UI gap of each step and writes the screenshots into --out.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from bench.gui_events import BRIGHTON, UiProbe, run_until  # noqa: E402

from app.ui.app import create_application, opengl_available  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402
from app.ui.new_project_dialog import NewProjectDialog  # noqa: E402


class Walk:
    """The steps, a probe labelled with the current step, and numbered screenshots."""

    def __init__(self, out: Path) -> None:
        self.out, self.step, self.shots = out, "start", 0
        self.probe = UiProbe(lambda: self.step)
        out.mkdir(parents=True, exist_ok=True)

    def shot(self, widget, name: str) -> None:
        """Save a screenshot (its own cost is probed apart: grabbing renders the whole window)."""
        step, self.step = self.step, "(screenshots)"
        self.shots += 1
        widget.grab().save(str(self.out / f"{self.shots:02d}_{name}.png"))
        self.wait(0.05)
        self.step = step

    def wait(self, seconds: float) -> None:
        end = time.perf_counter() + seconds
        run_until(lambda: time.perf_counter() >= end, seconds + 5)


def answer(text: str) -> None:
    """Click `text` in the next message box (the close-during-run question)."""
    def click() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            next(b for b in box.buttons() if b.text() == text).click()
        else:
            QTimer.singleShot(50, click)
    QTimer.singleShot(50, click)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flight", type=Path, default=BRIGHTON)
    parser.add_argument("--out", type=Path, default=Path("walkthrough"))
    parser.add_argument("--steps", type=int, default=100, help="CPU training steps")
    parser.add_argument("--no-viewer", action="store_true", help="leave the 3D view out")
    args = parser.parse_args()
    create_application([])
    viewer = opengl_available() and not args.no_viewer
    win = MainWindow(with_viewer=viewer)
    walk = Walk(args.out)
    walk.probe.start()
    win.show()
    walk.wait(1)
    walk.shot(win, "start_page")

    walk.step = "new project dialog"
    dialog: NewProjectDialog = win.actions.choose_flight()
    dialog.flight_edit.setText(str(args.flight))
    dialog.flight_edit.editingFinished.emit()
    run_until(lambda: dialog.check is not None, 60)
    dialog.project_edit.setText(str(Path(tempfile.mkdtemp(prefix="walk-")) / "project"))
    walk.shot(dialog, "new_project_dialog")
    dialog.create.click()
    run_until(lambda: win.project is not None, 10)
    win.project.settings.set("train.max_steps", str(args.steps))
    win.project.save()
    walk.wait(2)
    walk.shot(win, "project_opened")

    walk.step = "run until SfM"
    win.actions.stop_after.setCurrentIndex(win.actions.stop_after.findData("sfm"))
    win.actions.run.trigger()
    run_until(lambda: win.model.running == "sfm", 300)
    walk.wait(8)
    walk.shot(win, "during_sfm")
    run_until(lambda: not win.busy, 1800)
    walk.shot(win, "stopped_after_sfm")

    walk.step = "inspect: Flight tab"
    win.tabs.setCurrentWidget(win.flight)
    walk.wait(2)
    win.flight.select_row(min(3, len(win.flight.images.images) - 1))
    walk.wait(2)
    walk.shot(win, "flight_tab")
    walk.step = "inspect: SfM charts"
    win.tabs.setCurrentWidget(win.sfm_charts)
    walk.wait(1)
    walk.shot(win, "sfm_charts")
    walk.step = "inspect: 3D view"
    win.tabs.setCurrentWidget(win.viewer)
    walk.wait(3)
    walk.shot(win, "3d_view")

    walk.step = "run the rest"
    win.actions.stop_after.setCurrentIndex(win.actions.stop_after.count() - 1)
    win.tabs.setCurrentWidget(win.train_charts)
    win.actions.run.trigger()
    run_until(lambda: bool(win.model.train.step), 1800)
    walk.wait(3)
    walk.shot(win, "during_training")
    root = win.project.root

    walk.step = "close mid-run"
    answer("Keep running in the background")
    win.close()
    walk.step = "(a new window built)"
    again = MainWindow(with_viewer=viewer)
    again.show()
    walk.wait(1)
    walk.step = "reopen: open (replay)"
    again.open_project(root)
    again.tabs.setCurrentWidget(again.train_charts)
    walk.wait(0.5)
    walk.step = "reopen: following"
    walk.wait(3)
    walk.shot(again, "reopened_attached")
    run_until(lambda: not again.busy, 3600)
    walk.step = "finished"
    walk.wait(2)
    walk.shot(again, "finished")
    again.tabs.setCurrentWidget(again.viewer)
    walk.wait(3)
    walk.shot(again, "finished_3d")
    walk.probe.stop()
    again.close()
    print(f"{'step':22s} {'longest gap':>11s} {'its UI CPU':>10s} {'its proc CPU':>12s} "
          f"{'max UI CPU':>10s} {'>50 ms':>7s} {'ticks':>6s}  (ms)")
    for step, w in walk.probe.worst().items():
        print(f"{step:22s} {w['max_ms']:11.1f} {w['max_gap_ui_cpu_ms']:10.1f} "
              f"{w['max_gap_process_cpu_ms']:12.1f} {w['max_ui_cpu_ms']:10.1f} "
              f"{w['over_50ms']:7d} {w['ticks']:6d}")
    print(f"screenshots in {args.out}")


if __name__ == "__main__":
    main()
