"""Force stop: a run whose process does not answer Cancel (a long native call such as global
mapping, which checks no cancel token) can be ended from the window, after a grace period and a
confirmation; its stage is then failed and resumable, and the window holds the project again."""

from __future__ import annotations

import os
import sys

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QStandardPaths

from app.pipeline.project import Project
from app.ui import child_run, run_controller
from app.ui.main_window import MainWindow
from tests.ui_runs import answer_next_question, rows

QStandardPaths.setTestModeEnabled(True)
WAIT_MS = 30_000

# The run's process as `spaceport process` would be while stuck in a call that never returns to
# check its cancel token: it holds the project, has SfM running, and takes no notice of SIGTERM.
DEAF_RUN = """
import json, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
from app.pipeline.events import StageStarted
from app.pipeline.project import Project
project = Project.open(sys.argv[sys.argv.index("-o") + 1], create=False)
project.lock()
project.record("sfm").state = "running"
project.save()
print(json.dumps(StageStarted(stage="sfm").to_dict()), flush=True)
time.sleep(300)
"""


@pytest.fixture
def deaf_window(qtbot, tmp_path, monkeypatch):
    """A window whose runs are the deaf process above, and a project it has open."""
    monkeypatch.setattr(child_run, "spaceport_command",
                        lambda *args: [sys.executable, "-c", DEAF_RUN, *args])
    monkeypatch.setattr(run_controller, "FORCE_AFTER_S", 1.0)
    flight = tmp_path / "flight"
    flight.mkdir()
    project = Project.open(tmp_path / "proj", source=flight)
    project.record("ingest").state = "done"
    project.save()
    win = MainWindow(with_viewer=False)
    win.show()
    assert win.open_project(project.root) and win.holds_lock
    yield win
    if win.runs.own:
        win.runs.kill()
        qtbot.waitUntil(lambda: not win.busy, timeout=WAIT_MS)
    win.shutdown()
    win.close()
    win.deleteLater()


def start_deaf_run(qtbot, win: MainWindow) -> None:
    assert win.run()
    qtbot.waitUntil(lambda: win.model.running == "sfm", timeout=WAIT_MS)


def force_stop_answered(qtbot, win: MainWindow, answer: str) -> None:
    """Start the deaf run, Cancel it, wait for Force stop, press it and answer its question."""
    start_deaf_run(qtbot, win)
    win.actions.cancel.trigger()
    qtbot.waitUntil(lambda: win.actions.cancel.text() == "Force stop…", timeout=WAIT_MS)
    answer_next_question(answer)
    win.actions.cancel.trigger()


def test_cancel_first_asks_for_a_clean_stop_and_force_stop_is_offered_only_after_a_grace_period(
        qtbot, deaf_window):
    win = deaf_window
    start_deaf_run(qtbot, win)
    assert win.actions.cancel.text() == "Cancel"
    win.actions.cancel.trigger()
    assert win.busy and not win.actions.cancel.isEnabled()  # waiting for the clean stop
    qtbot.waitUntil(lambda: win.actions.cancel.isEnabled(), timeout=WAIT_MS)
    assert win.busy  # it took no notice of SIGTERM
    assert win.actions.cancel.text() == "Force stop…"
    assert "press Force stop" in win.status_text.text()


def test_force_stop_asks_first_and_keep_waiting_leaves_the_run_going(qtbot, deaf_window):
    win = deaf_window
    force_stop_answered(qtbot, win, "Keep waiting")
    qtbot.wait(1500)
    assert win.busy and win.runs.pid is not None
    os.kill(win.runs.pid, 0)  # still alive


def test_a_confirmed_force_stop_ends_the_process_and_the_stage_resumes_from_its_checkpoint(
        qtbot, deaf_window):
    win = deaf_window
    force_stop_answered(qtbot, win, "Force stop")
    qtbot.waitUntil(lambda: not win.busy, timeout=WAIT_MS)
    state, detail = rows(win)["sfm"]
    assert state == "failed" and "Force stop" in detail
    assert win.model.stages["sfm"].action == "resume"
    assert win.holds_lock and win.actions.run.isEnabled()
    assert win.status_text.text() == "the run was ended by Force stop during sfm; press Run to resume"
    assert win.error_box is None  # the operator asked for it: no error dialog
    assert Project.open(win.project.root, create=False).record("sfm").state == "failed"
