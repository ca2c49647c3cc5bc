"""The main window over real projects: replay on open, run/cancel/rerun through the worker,
locked and bad folders reported, not raised. Plain widgets: runs offscreen without a display."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.pipeline.events import StageFinished, read_events
from app.pipeline.project import Project
from app.ui.dialogs import project_folder_for
from app.ui.main_window import MainWindow
from app.ui.viewer_panel import newest_file
from tests.ui_scene import EmittingStage, past_run_events, write_events, write_ingest

WAIT_MS = 20_000


@pytest.fixture
def pipeline():
    """Three stages in the real pipeline's order (the registry fills up as stages land)."""
    return [EmittingStage("ingest"), EmittingStage("sfm", ("ingest",)),
            EmittingStage("train", ("sfm",))]


@pytest.fixture
def window(qtbot, pipeline):
    win = MainWindow(stages=lambda: pipeline, with_viewer=False)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


@pytest.fixture
def flight(tmp_path):
    folder = tmp_path / "flight é"
    folder.mkdir()
    return folder


def rows(win: MainWindow) -> dict[str, tuple[str, str]]:
    lst = win.stage_list
    return {lst.topLevelItem(i).text(0): (lst.topLevelItem(i).text(1), lst.topLevelItem(i).text(2))
            for i in range(lst.topLevelItemCount())}


def run_and_wait(qtbot, win: MainWindow, **kw) -> None:
    assert win.run(**kw)
    qtbot.waitUntil(lambda: not win.busy, timeout=WAIT_MS)


def test_opening_a_project_replays_its_event_log_into_charts_and_log(window, flight, tmp_path):
    project = Project.open(tmp_path / "proj", source=flight)
    write_events(project.paths.events, past_run_events())
    assert window.open_project(project.root)
    xs, ys = window.sfm_charts.registered.getData()
    assert list(ys) == list(range(1, 13))
    assert len(window.train_charts.loss.getData()[0]) == 61
    assert len(window.train_charts.psnr.getData()[0]) == 7
    assert "42,000 Gaussians" in window.train_charts.summary.text()
    assert "12/12 images registered" in window.sfm_charts.summary.text()
    assert "12 usable images of 12" in window.log_panel.toPlainText()


def test_the_flight_tab_shows_the_ingest_report_and_the_gps_track(window, flight, tmp_path):
    from app.ui.flight_panel import track_metres

    project = Project.open(tmp_path / "proj", source=flight)
    write_ingest(project.paths)
    window.open_project(project.root)
    text = window.flight.report.text()
    assert "11 of 12" in text and "img_00.jpg: truncated JPEG" in text and "2.61 cm/px" in text
    east, north = window.flight.points.getData()
    assert len(east) == 12
    assert np.ptp(north) == pytest.approx(0.0004 * 111_195, rel=1e-3)  # 0.0004 deg of latitude
    assert np.ptp(east) == pytest.approx(0.0009 * 111_195 * np.cos(np.radians(50.0002)), rel=1e-3)
    assert list(track_metres(json.loads(project.paths.flight_json.read_text())["images"])[2]) \
        == [False] + [True] * 11


def test_the_real_ingest_stage_runs_from_the_window_on_the_sample_flight(qtbot, sample_flight,
                                                                         tmp_path):
    win = MainWindow(with_viewer=False)  # the registry's stages
    qtbot.addWidget(win)
    assert win.stage_names[0] == "ingest"
    assert win.new_project(sample_flight, tmp_path / "proj")
    assert win.run(until="ingest")
    qtbot.waitUntil(lambda: not win.busy, timeout=60_000)
    assert rows(win)["ingest"][0] == "done"
    assert "12 of 12" in win.flight.report.text()
    assert len(win.flight.points.getData()[0]) == 12
    win.close()


def test_stage_list_shows_project_json_states_with_the_failure_reason(window, flight, tmp_path):
    project = Project.open(tmp_path / "proj", source=flight)
    project.record("ingest").state = "done"
    sfm = project.record("sfm")
    sfm.state, sfm.reason, sfm.hint = "failed", "only 2 of 12 images registered", "more overlap"
    project.save()
    window.open_project(project.root)
    # ingest's fingerprint was never recorded, so the runner marks it stale on open
    assert rows(window) == {"ingest": ("stale", "its settings or inputs changed"),
                            "sfm": ("failed", "only 2 of 12 images registered"),
                            "train": ("pending", "")}
    assert "more overlap" in window.stage_list.topLevelItem(1).toolTip(1)
    assert window.stage_detail.text().startswith("<b>ingest</b>: stale")  # first needing attention
    window.stage_list.setCurrentItem(window.stage_list.topLevelItem(1))
    assert "only 2 of 12 images registered<br><i>fix: more overlap" in window.stage_detail.text()


def test_run_drives_the_runner_and_streams_events_to_charts(qtbot, window, flight, tmp_path,
                                                            pipeline):
    assert not window.run_action.isEnabled()
    assert window.new_project(flight, tmp_path / "proj")
    assert window.run_action.isEnabled() and not window.cancel_action.isEnabled()
    window.run_action.trigger()
    qtbot.waitUntil(lambda: not window.busy, timeout=WAIT_MS)
    assert [s.runs for s in pipeline] == [1, 1, 1]
    assert {name: state for name, (state, _) in rows(window).items()} == \
        {"ingest": "done", "sfm": "done", "train": "done"}
    assert rows(window)["ingest"][1] == "runs=1"  # the stage's own summary of its outputs
    assert list(window.sfm_charts.points.getData()[1]) == [100, 200, 300, 400, 500]
    assert list(window.train_charts.gaussians.getData()[1]) == [1000, 2000, 3000, 4000, 5000]
    on_disk = Project.open(tmp_path / "proj", create=False)
    assert {k: r.state for k, r in on_disk.stages.items()} == \
        {"ingest": "done", "sfm": "done", "train": "done"}
    logged = read_events(on_disk.paths.events)
    assert sum(isinstance(e, StageFinished) for e in logged) == 3
    assert window.status_text.text() == "finished"


def test_cancel_stops_the_stage_resumably_and_run_resumes_it(qtbot, window, flight, tmp_path):
    stages = [EmittingStage("ingest"), EmittingStage("sfm", ("ingest",), wait_for_cancel=True)]
    window._make_stages = lambda: stages
    window.new_project(flight, tmp_path / "proj")
    assert window.run()
    qtbot.waitUntil(lambda: window.model.stages["sfm"].state == "running", timeout=WAIT_MS)
    assert window.cancel_action.isEnabled() and not window.run_action.isEnabled()
    window.cancel()
    qtbot.waitUntil(lambda: not window.busy, timeout=WAIT_MS)
    assert rows(window)["sfm"] == ("cancelled", "cancelled by the user")
    run_and_wait(qtbot, window)
    assert rows(window)["sfm"][0] == "done"
    assert [s.runs for s in stages] == [1, 2]


def test_rerun_from_the_selected_stage_reruns_it_and_what_follows(qtbot, window, flight,
                                                                  tmp_path, pipeline):
    window.new_project(flight, tmp_path / "proj")
    run_and_wait(qtbot, window)
    assert not window.rerun_action.isEnabled()
    window.stage_list.setCurrentItem(window.stage_list.topLevelItem(1))
    assert window.rerun_action.isEnabled()
    assert window.rerun_selected()
    qtbot.waitUntil(lambda: not window.busy, timeout=WAIT_MS)
    assert [s.runs for s in pipeline] == [1, 2, 2]


def setting_item(win: MainWindow, dotted: str):
    from app.ui.settings_panel import DOTTED

    tree = win.settings_panel
    for i in range(tree.topLevelItemCount()):
        top = tree.topLevelItem(i)
        for j in range(top.childCount()):
            if top.child(j).data(0, DOTTED) == dotted:
                return top.child(j)
    raise KeyError(dotted)


def test_editing_a_setting_saves_it_and_marks_that_stage_and_downstream_stale(
        qtbot, window, flight, tmp_path):
    window.new_project(flight, tmp_path / "proj")
    run_and_wait(qtbot, window)
    assert setting_item(window, "sfm.backend").text(1) == "pycolmap"
    setting_item(window, "sfm.backend").setText(1, "opensfm")
    window.flush()
    assert {n: state for n, (state, _) in rows(window).items()} == \
        {"ingest": "done", "sfm": "stale", "train": "stale"}
    assert Project.open(tmp_path / "proj", create=False).settings.sfm.backend == "opensfm"
    assert "setting sfm.backend = opensfm" in window.log_panel.toPlainText()


def test_a_bad_setting_value_is_refused_and_the_old_value_shown_again(qtbot, window, flight,
                                                                      tmp_path):
    window.new_project(flight, tmp_path / "proj")
    setting_item(window, "ingest.min_images").setText(1, "many")
    assert "expects int" in window.error_box.text()
    qtbot.waitUntil(lambda: setting_item(window, "ingest.min_images").text(1) == "3")
    assert window.project.settings.ingest.min_images == 3


def test_a_project_locked_by_another_process_opens_read_only(window, flight, tmp_path):
    holder = Project.open(tmp_path / "proj", source=flight)
    holder.lock()
    try:
        assert window.open_project(holder.root)
        assert window.read_only and not window.run_action.isEnabled()
        assert "(read-only)" in window.project_label.text()
        assert "open in another process" in window.log_panel.toPlainText()
        assert not setting_item(window, "ingest.min_images").flags() & Qt.ItemFlag.ItemIsEditable
    finally:
        holder.unlock()


def test_a_run_by_another_process_is_followed_live_from_its_event_log(qtbot, window, flight,
                                                                      tmp_path):
    holder = Project.open(tmp_path / "proj", source=flight)
    write_events(holder.paths.events, past_run_events()[:3])
    holder.lock()
    try:
        window.open_project(holder.root)
        assert window.model.sfm.registered == []
        events, log = past_run_events(), holder.paths.events
        write_events(log, events[3:10])
        qtbot.waitUntil(lambda: len(window.model.sfm.registered) == 6, timeout=WAIT_MS)
        assert rows(window)["sfm"][0].startswith("running")
        write_events(log, events[10:])
        qtbot.waitUntil(lambda: rows(window)["train"][0] == "done", timeout=WAIT_MS)
        assert list(window.sfm_charts.registered.getData()[1]) == list(range(1, 13))
    finally:
        holder.unlock()


def test_a_folder_that_is_not_a_project_is_reported_not_raised(window, tmp_path):
    assert not window.open_project(tmp_path)
    assert "is not a Spaceport project" in window.error_box.text()
    assert "open a flight folder" in window.error_box.informativeText()  # the hint, front-end neutral
    assert window.project is None and not window.run_action.isEnabled()


def test_a_missing_flight_folder_or_one_holding_the_project_is_refused(window, flight, tmp_path):
    assert not window.new_project(tmp_path / "no such flight", tmp_path / "proj")
    assert "does not exist" in window.error_box.text()
    assert not window.new_project(flight, flight / "proj")
    assert "inside the flight folder" in window.error_box.text()


def test_closing_the_window_releases_the_project_lock(qtbot, pipeline, flight, tmp_path):
    win = MainWindow(stages=lambda: pipeline, with_viewer=False)
    qtbot.addWidget(win)
    win.new_project(flight, tmp_path / "proj")
    assert (tmp_path / "proj" / ".lock").exists()
    win.close()
    assert not (tmp_path / "proj" / ".lock").exists()


def test_closing_during_a_run_cancels_it_and_closes_once_it_stopped(qtbot, flight, tmp_path):
    stages = [EmittingStage("ingest", wait_for_cancel=True)]
    win = MainWindow(stages=lambda: stages, with_viewer=False)
    qtbot.addWidget(win)
    win.show()
    win.new_project(flight, tmp_path / "proj")
    win.run()
    qtbot.waitUntil(lambda: win.model.stages["ingest"].state == "running", timeout=WAIT_MS)
    win.close()
    qtbot.waitUntil(lambda: not win.isVisible(), timeout=WAIT_MS)
    assert not (tmp_path / "proj" / ".lock").exists()
    assert Project.open(tmp_path / "proj", create=False).record("ingest").state == "cancelled"


def test_the_newest_splat_file_is_shown(tmp_path):
    old, new = tmp_path / "preview.ply", tmp_path / "splats.ply"
    old.write_bytes(b"a")
    new.write_bytes(b"b")
    os.utime(old, ns=(1, 1))
    assert newest_file([old, new, None, tmp_path / "missing.ply"]) == new
    assert newest_file([None]) is None


def test_new_project_asks_for_the_flight_then_the_place_of_the_project(window, flight, tmp_path,
                                                                      monkeypatch):
    from app.ui import dialogs

    (tmp_path / "projects").mkdir()
    (tmp_path / "projects" / "other").mkdir()
    answers = iter([str(flight), str(tmp_path / "projects")])
    monkeypatch.setattr(dialogs.QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: next(answers)))
    window.new_action.trigger()
    assert window.project.root == tmp_path / "projects" / "flight é-project"
    assert window.project.source == flight


def test_new_project_folder_goes_inside_a_non_empty_folder(flight, tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    assert project_folder_for(flight, tmp_path / "busy") == tmp_path / "busy" / "flight é-project"
    assert project_folder_for(flight, tmp_path / "empty") == tmp_path / "empty"


def test_spaceport_gui_opens_the_project_and_sigterm_closes_it(flight, tmp_path):
    # a real process: SIGTERM ends its event loop (in this process that would leave Qt's
    # quit flag set and break every later wait of the test session)
    Project.open(tmp_path / "proj", source=flight)
    lock = tmp_path / "proj" / ".lock"
    gui = subprocess.Popen([sys.executable, "-m", "app", "gui", str(tmp_path / "proj")],
                           cwd=Path(__file__).parents[1], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not lock.exists() and gui.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lock.exists(), "the window never opened (locked) the project"
        gui.send_signal(signal.SIGTERM)
        assert gui.wait(30) == 0, gui.stderr.read()[-2000:]
    finally:
        if gui.poll() is None:
            gui.kill()
    assert not lock.exists()


def test_without_a_display_spaceport_explains_instead_of_aborting(monkeypatch, capsys):
    from app.ui import app as ui_app

    for key in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(ui_app.QApplication, "instance", staticmethod(lambda: None))
    monkeypatch.setattr(ui_app.sys, "platform", "linux")
    assert ui_app.run_gui(None) == 2
    assert "xvfb-run" in capsys.readouterr().err
