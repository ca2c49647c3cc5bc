"""Runs from the window: the real stages on the sample flight, in a `spaceport process` child.

The window hands the project lock to the child, follows its events, stops it with SIGTERM,
reports a SIGKILL as a failed (resumable) stage, and a second window attaches to a run that the
first one left going in the background.
"""

from __future__ import annotations

import os
import signal

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QStandardPaths

from app.cli import main as cli_main
from app.pipeline.events import StageStarted, read_events
from app.pipeline.project import Project
from app.ui.main_window import MainWindow
from tests.ui_runs import (MID_RUN, RUN_MS, answer_next_question, copy_project, fast_project,
                           rows, setting_editable, states)

QStandardPaths.setTestModeEnabled(True)  # recent projects go to a test folder


@pytest.fixture(scope="module")
def sfm_done(sample_flight, tmp_path_factory):
    """A project of the sample flight whose ingest and SfM are done (copied by each test)."""
    root = fast_project(tmp_path_factory.mktemp("sfm-done") / "proj", sample_flight)
    assert cli_main(["process", "-o", str(root), "--until", "sfm"]) == 0
    return root


@pytest.fixture
def make_window(qtbot):
    """Windows for a test; a run one of them still has going is stopped at teardown."""
    made: list[MainWindow] = []

    def make() -> MainWindow:
        win = MainWindow(with_viewer=False)
        win.show()
        made.append(win)
        return win

    yield make
    for win in made:  # not qtbot.addWidget: its close would ask what to do with the run
        win.shutdown()
        win.close()
        win.deleteLater()


def wait_ended(qtbot, win: MainWindow) -> None:
    qtbot.waitUntil(lambda: not win.busy, timeout=RUN_MS)


def wait_training_step(qtbot, win: MainWindow) -> None:
    """Until training has reported a step (a checkpoint exists from step 2 on)."""
    qtbot.waitUntil(lambda: states(win)["train"] == "running"
                    and bool(win.model.train.step) and win.model.train.step[-1] >= 2,
                    timeout=RUN_MS)


def test_stop_after_sfm_then_run_the_rest_in_a_child_process_through_compress(
        qtbot, make_window, sample_flight, tmp_path):
    win = make_window()
    root = fast_project(tmp_path / "proj", sample_flight)
    assert win.open_project(root) and win.holds_lock
    win.actions.stop_after.setCurrentIndex(win.actions.stop_after.findData("sfm"))
    win.actions.run.trigger()
    assert win.busy and not win.holds_lock and not win.actions.run.isEnabled()
    qtbot.waitUntil(lambda: win.runs.pid is not None, timeout=RUN_MS)
    child = win.runs.pid
    assert child != os.getpid()
    qtbot.waitUntil(lambda: (Project.open(root, create=False).lock_holder() or {}).get("pid")
                    == child or not win.busy, timeout=RUN_MS)
    wait_ended(qtbot, win)
    assert states(win) == {"ingest": "done", "sfm": "done", "train": "pending",
                           "compress": "pending"}
    assert win.holds_lock and Project.open(root, create=False).lock_holder()["pid"] == os.getpid()
    assert "12/12 images registered" in rows(win)["sfm"][1]
    assert win.sfm_charts.registered.getData()[1][-1] == 12  # its SfmStats reached the charts
    assert win.status_text.text().startswith("stopped after SfM as asked")
    assert win.actions.chosen_stage() == "compress"  # Run now goes on to the end
    win.actions.run.trigger()
    assert win.busy and not setting_editable(win, "train.max_steps")  # read-only while it runs
    wait_ended(qtbot, win)
    assert set(states(win).values()) == {"done"}
    assert win.status_text.text() == "finished"
    assert (root / "compress" / "scene.sog").is_file()
    assert win.train_charts.loss.getData()[0][-1] == 12
    assert [r[0] for r in rows(win).values()] == ["done"] * 4
    assert all(r[1] for r in rows(win).values())  # every stage says what it made

    win.stage_list.setCurrentItem(win.stage_list.topLevelItem(3))
    assert win.actions.rerun.isEnabled()
    win.actions.rerun.trigger()  # rerun from compress: the rest is current and skipped
    wait_ended(qtbot, win)
    started = [e.stage for e in read_events(root / "logs" / "events.jsonl")
               if isinstance(e, StageStarted)]
    assert started == ["ingest", "sfm", "train", "compress", "compress"]


def test_cancel_stops_the_child_at_a_checkpoint_and_run_resumes_it(
        qtbot, make_window, sfm_done, tmp_path):
    root = copy_project(sfm_done, tmp_path / "proj", **MID_RUN)
    win = make_window()
    win.open_project(root)
    assert win.run()
    wait_training_step(qtbot, win)
    assert win.actions.cancel.isEnabled() and win.actions.cancel.text() == "Cancel"
    win.actions.cancel.trigger()
    wait_ended(qtbot, win)
    assert rows(win)["train"][0] == "cancelled"
    assert win.model.stages["train"].reason == "cancelled by the user"
    assert "press Run" in win.stage_list.topLevelItem(2).toolTip(1)  # the window's words
    assert "same command" not in win.log_panel.toPlainText()
    assert win.status_text.text() == "cancelled; press Run to resume"
    assert win.holds_lock
    assert win.run()
    wait_ended(qtbot, win)
    assert set(states(win).values()) == {"done"}
    started = [e for e in read_events(root / "logs" / "events.jsonl")
               if isinstance(e, StageStarted) and e.stage == "train"]
    assert [e.resumed for e in started] == [False, True]


def test_a_child_killed_with_sigkill_is_reported_with_its_last_lines_and_resumes(
        qtbot, make_window, sfm_done, tmp_path):
    root = copy_project(sfm_done, tmp_path / "proj", **MID_RUN)
    win = make_window()
    win.open_project(root)
    assert win.run(until="train")
    wait_training_step(qtbot, win)
    os.kill(win.runs.pid, signal.SIGKILL)  # what the OOM killer does
    wait_ended(qtbot, win)
    assert rows(win)["train"][0] == "failed"
    assert "SIGKILL" in win.model.stages["train"].reason
    assert "SIGKILL" in win.error_box.text() and "press Run" in win.error_box.informativeText()
    assert win.holds_lock
    on_disk = Project.open(root, create=False)
    assert on_disk.record("train").state == "failed" and "SIGKILL" in on_disk.record("train").reason
    assert win.run(until="train")
    wait_ended(qtbot, win)
    assert states(win)["train"] == "done"


def test_closing_mid_run_keeps_it_going_and_reopening_the_project_attaches(
        qtbot, make_window, sfm_done, tmp_path):
    root = copy_project(sfm_done, tmp_path / "proj", **MID_RUN)
    first = make_window()
    first.open_project(root)
    assert first.run()
    wait_training_step(qtbot, first)
    child = first.runs.pid
    os.kill(child, signal.SIGSTOP)  # paused while the windows change: a fast machine would finish
    try:
        answer_next_question("Keep running in the background")
        first.close()
        assert not first.isVisible() and not first.busy
        assert Project.open(root, create=False).lock_holder()["pid"] == child  # it runs on

        second = make_window()
        assert second.open_project(root)
        assert second.busy and not second.runs.own and second.read_only
        assert states(second)["train"] == "running"
        steps = len(second.model.train.step)
        assert steps > 0  # replayed from logs/events.jsonl
        assert second.actions.cancel.isEnabled()
    finally:
        os.kill(child, signal.SIGCONT)
    wait_ended(qtbot, second)
    assert len(second.model.train.step) > steps  # followed live
    assert set(states(second).values()) == {"done"}
    assert second.holds_lock and second.actions.run.isEnabled()
    assert second.status_text.text() == "finished"


def test_a_run_that_cannot_start_says_why(
        qtbot, make_window, sample_flight, tmp_path):
    root = fast_project(tmp_path / "proj", sample_flight)
    win = make_window()
    win.open_project(root)
    assert win.run(until="ingest")
    holder = Project.open(root, create=False)
    holder.lock()  # taken between the window's hand-over and the child's start
    try:
        wait_ended(qtbot, win)
    finally:
        holder.unlock()
    assert "open in another process" in win.error_box.detailedText()
    assert win.error_box.text().startswith(f"Project {root} is open in another process")
    assert "close the other Spaceport window" in win.error_box.informativeText()
    assert win.status_text.text().startswith("the run did not start: Project ")
    assert states(win)["ingest"] == "pending"
