"""The main window over real project folders, without running stages (tests/test_ui_run.py
runs them): the start page, New project and its flight check, replay on open, stage states,
settings, locks, following another process, where training runs, the cost question."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QMimeData, QPointF, QStandardPaths, Qt, QUrl
from PySide6.QtGui import QDropEvent

from app.pipeline.project import Project
from app.ui.cost_dialog import CostDialog
from app.ui.main_window import MainWindow
from app.ui.gpus import known_gpus
from app.ui.new_project_dialog import NewProjectDialog
from app.ui.start_page import SampleFlight
from tests.ui_runs import rows, setting_editable
from tests.ui_scene import mark_done, past_run_events, write_events

QStandardPaths.setTestModeEnabled(True)  # recent projects go to a test folder
WAIT_MS = 60_000


@pytest.fixture
def window(qtbot):
    win = MainWindow(with_viewer=False)
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: known_gpus() is not None, timeout=WAIT_MS)  # listed by a child
    win.show()
    yield win
    win.close()


@pytest.fixture
def flight(tmp_path):
    folder = tmp_path / "flight é"
    folder.mkdir()
    return folder


def setting_item(win: MainWindow, dotted: str):
    from app.ui.settings_panel import DOTTED

    tree = win.settings_panel
    for i in range(tree.topLevelItemCount()):
        top = tree.topLevelItem(i)
        for j in range(top.childCount()):
            if top.child(j).data(0, DOTTED) == dotted:
                return top.child(j)
    raise KeyError(dotted)


# -- start page and new projects ----------------------------------------------------------------
def test_the_start_page_shows_first_and_lists_recent_projects(qtbot, flight, tmp_path):
    first = MainWindow(with_viewer=False)
    qtbot.addWidget(first)
    assert first.pages.currentWidget() is first.start_page
    assert not first.actions.run.isEnabled() and not first.pipeline_dock.isVisible()
    assert first.new_project(flight, tmp_path / "proj")
    assert first.pages.currentWidget() is first.tabs
    first.close()
    second = MainWindow(with_viewer=False)
    qtbot.addWidget(second)
    recent = second.start_page.recent
    assert recent.item(0).data(Qt.ItemDataRole.UserRole) == (tmp_path / "proj").absolute()
    second.start_page.recent.itemActivated.emit(recent.item(0))
    assert second.project.root == (tmp_path / "proj").absolute()
    second.close()


def test_new_project_refuses_a_folder_without_images_in_the_dialog(qtbot, window, flight):
    (flight / "notes.txt").write_text("flight log")
    dialog = window.actions.choose_flight(flight)
    qtbot.waitUntil(lambda: dialog.check is not None, timeout=WAIT_MS)
    assert not dialog.create.isEnabled()
    assert "No images in flight é" in dialog.status.text()
    assert "notes.txt" in dialog.status.text() and ".jpg" in dialog.status.text()
    (flight / "DJI_0001.JPG").write_bytes(b"not really a jpeg")
    dialog.set_flight(flight)
    qtbot.waitUntil(lambda: dialog.check is not None, timeout=WAIT_MS)
    assert not dialog.create.isEnabled()
    assert "None of the 1 images checked" in dialog.status.text()
    assert "not an image" in dialog.status.text()
    dialog.reject()
    assert window.project is None


def test_new_project_refuses_a_project_folder_and_offers_to_open_it(qtbot, window, flight,
                                                                  tmp_path):
    existing = Project.open(tmp_path / "earlier", source=flight)
    dialog = window.actions.choose_flight(existing.root)
    qtbot.waitUntil(lambda: dialog.check is not None, timeout=WAIT_MS)
    assert not dialog.create.isEnabled()
    assert "is a Spaceport project folder, not a flight folder" in dialog.status.text()
    assert dialog.open_instead.isVisible()
    dialog.open_instead.click()
    assert window.project.root == existing.root
    assert not (tmp_path / "earlier-project").exists()


def test_new_project_checks_the_flight_proposes_a_folder_and_creates_the_project(
        qtbot, window, sample_flight):
    dialog = window.actions.choose_flight()
    dialog.flight_edit.setText(str(sample_flight))
    dialog.flight_edit.editingFinished.emit()
    qtbot.waitUntil(lambda: dialog.check is not None, timeout=WAIT_MS)
    assert dialog.create.isEnabled()
    assert dialog.status.text().startswith("12 images: 12 of 12 usable, 12 with GPS")
    expected = sample_flight.parent / f"{sample_flight.name}-project"
    assert Path(dialog.project_edit.text()) == expected
    dialog.create.click()
    assert window.project.root == expected and window.project.source == sample_flight
    assert window.holds_lock


def test_dropping_a_flight_folder_opens_new_project_on_it(qtbot, window, sample_flight):
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(sample_flight))])
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, data,
                      Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    dialog = window.findChild(NewProjectDialog)
    assert dialog.flight_edit.text() == str(sample_flight)


def test_the_sample_flight_button_renders_the_flight_and_opens_its_project(
        qtbot, window, tmp_path):
    window.start_page.sample = SampleFlight(tmp_path / "sample", images=6, width=320, height=240,
                                            seed=3)
    qtbot.mouseClick(window.start_page.sample_button, Qt.MouseButton.LeftButton)
    assert not window.start_page.sample_button.isEnabled()  # rendering in the pool
    qtbot.waitUntil(lambda: window.project is not None, timeout=WAIT_MS)
    assert window.project.root == tmp_path / "sample" / "sample-project"
    assert len(list((tmp_path / "sample" / "flight").glob("*.JPG"))) == 6
    assert window.pages.currentWidget() is window.tabs and window.holds_lock


# -- an open project ----------------------------------------------------------------------------
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


def test_the_window_with_a_project_fits_a_1280x800_laptop_screen(window, flight, tmp_path):
    project = Project.open(tmp_path / "proj", source=flight)
    write_events(project.paths.events, past_run_events())
    assert window.open_project(project.root)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 800 - 40, hint  # 40: a panel or title bar


def test_stage_list_shows_states_times_and_the_failure_in_window_words(window, flight, tmp_path):
    project = Project.open(tmp_path / "proj", source=flight)
    mark_done(project, ("ingest",))
    sfm = project.record("sfm")
    sfm.state, sfm.reason = "failed", "only 2 of 12 images registered"
    sfm.hint = "more overlap, or --set sfm.min_registered_ratio=0.1"
    sfm.started, sfm.finished = 100.0, 100.0 + 185
    project.save()
    window.open_project(project.root)
    assert rows(window) == {"ingest": ("done", rows(window)["ingest"][1]),
                            "sfm": ("failed", "only 2 of 12 images registered"),
                            "train": ("pending", ""), "compress": ("pending", "")}
    assert window.stage_list.topLevelItem(0).text(2) == "1 min 00 s"
    assert window.stage_list.topLevelItem(1).text(2) == "3 min 05 s"
    tip = window.stage_list.topLevelItem(1).toolTip(1)
    assert "set sfm.min_registered_ratio to 0.1 in the Settings tab" in tip and "--set" not in tip
    assert window.stage_detail.text().startswith("<b>SfM</b>: failed")  # first needing attention


def test_editing_a_setting_saves_it_and_marks_that_stage_and_downstream_stale(
        qtbot, window, flight, tmp_path):
    project = Project.open(tmp_path / "proj", source=flight)
    mark_done(project, ("ingest", "sfm", "train"))
    window.open_project(project.root)
    assert [s for s, _ in rows(window).values()] == ["done", "done", "done", "pending"]
    setting_item(window, "sfm.backend").setText(1, "opensfm")
    window.flush()
    assert [s for s, _ in rows(window).values()] == ["done", "stale", "stale", "pending"]
    assert Project.open(tmp_path / "proj", create=False).settings.sfm.backend == "opensfm"
    assert "setting sfm.backend = opensfm" in window.log_panel.toPlainText()


def test_a_bad_setting_value_is_refused_and_the_old_value_shown_again(qtbot, window, flight,
                                                                      tmp_path):
    window.new_project(flight, tmp_path / "proj")
    setting_item(window, "ingest.min_images").setText(1, "many")
    assert "expects a whole number" in window.error_box.text()
    qtbot.waitUntil(lambda: setting_item(window, "ingest.min_images").text(1) == "3")
    assert window.project.settings.ingest.min_images == 3


def test_a_project_locked_by_another_window_opens_read_only_and_is_taken_when_freed(
        qtbot, window, flight, tmp_path):
    holder = Project.open(tmp_path / "proj", source=flight)
    holder.lock()
    try:
        assert window.open_project(holder.root)
        assert window.read_only and not window.actions.run.isEnabled()
        assert "(read-only)" in window.project_label.text()
        assert "open in another process" in window.log_panel.toPlainText()
        assert not setting_editable(window, "ingest.min_images")
        assert not window.actions.cancel.isEnabled()  # another window: nothing to stop
    finally:
        holder.unlock()
    qtbot.waitUntil(lambda: window.holds_lock, timeout=WAIT_MS)
    assert setting_editable(window, "ingest.min_images") and window.actions.run.isEnabled()


def test_a_run_by_another_process_is_followed_live_from_its_event_log(qtbot, window, flight,
                                                                      tmp_path):
    holder = Project.open(tmp_path / "proj", source=flight)
    write_events(holder.paths.events, past_run_events()[:3])
    holder.record("sfm").state = "running"
    holder.save()
    holder.lock()
    try:
        window.open_project(holder.root)
        assert window.busy and not window.runs.own
        assert window.model.sfm.registered == []
        events, log = past_run_events(), holder.paths.events
        write_events(log, events[3:10])
        qtbot.waitUntil(lambda: len(window.model.sfm.registered) == 6, timeout=WAIT_MS)
        assert rows(window)["sfm"][0].startswith("running")
        write_events(log, events[10:])
        qtbot.waitUntil(lambda: rows(window)["train"][0] == "done", timeout=WAIT_MS)
        assert list(window.sfm_charts.registered.getData()[1]) == list(range(1, 13))
        holder.record("sfm").state = "done"
        holder.save()
    finally:
        holder.unlock()
    qtbot.waitUntil(lambda: not window.busy, timeout=WAIT_MS)
    assert window.holds_lock


def test_a_run_that_died_while_no_window_watched_is_marked_failed_on_open(window, flight,
                                                                          tmp_path):
    project = Project.open(tmp_path / "proj", source=flight)
    mark_done(project, ("ingest",))
    project.record("sfm").state = "running"  # a killed run left it so, and a stale lock
    project.save()
    project.paths.lock.write_text(json.dumps({"pid": 2 ** 22 + 7, "host": os.uname().nodename}))
    window.open_project(project.root)
    assert window.holds_lock and rows(window)["sfm"][0] == "failed"
    assert "ended without finishing" in window.model.stages["sfm"].reason
    assert "press Run" in window.stage_list.topLevelItem(1).toolTip(1)


def test_a_folder_that_is_not_a_project_is_reported_in_window_words(window, tmp_path):
    assert not window.open_project(tmp_path)
    assert "is not a Spaceport project" in window.error_box.text()
    assert "New project from a flight folder" in window.error_box.informativeText()
    assert window.project is None and not window.actions.run.isEnabled()


def test_a_missing_flight_folder_or_one_holding_the_project_is_refused(window, flight, tmp_path):
    assert not window.new_project(tmp_path / "no such flight", tmp_path / "proj")
    assert "does not exist" in window.error_box.text()
    assert not window.new_project(flight, flight / "proj")
    assert "inside the flight folder" in window.error_box.text()


def test_a_project_whose_flight_folder_is_gone_opens_and_says_so(qtbot, window, sample_flight,
                                                                    tmp_path):
    flight = shutil.copytree(sample_flight, tmp_path / "card")
    project = Project.open(tmp_path / "proj", source=flight)
    mark_done(project, ("ingest",))
    shutil.rmtree(flight)  # the SD card is out
    assert window.open_project(project.root)
    assert "is missing (is its drive disconnected?)" in window.log_panel.toPlainText()
    assert rows(window)["ingest"][0] == "done"  # nothing to redo: SfM's hand-off is what counts
    qtbot.waitUntil(lambda: "is missing" in window.flight.summary.text(), timeout=WAIT_MS)


def test_closing_the_window_releases_the_project_lock(qtbot, flight, tmp_path):
    win = MainWindow(with_viewer=False)
    qtbot.addWidget(win)
    win.new_project(flight, tmp_path / "proj")
    assert (tmp_path / "proj" / ".lock").exists()
    win.close()
    assert not (tmp_path / "proj" / ".lock").exists()


def test_the_newest_splat_file_is_shown(tmp_path):
    from app.ui.viewer_panel import newest_file

    old, new = tmp_path / "preview.ply", tmp_path / "splats.ply"
    old.write_bytes(b"a")
    new.write_bytes(b"b")
    os.utime(old, ns=(1, 1))
    assert newest_file([old, new, None, tmp_path / "missing.ply"]) == new
    assert newest_file([None]) is None


# -- where training runs and its cost -----------------------------------------------------------
def test_where_training_runs_is_shown_and_its_switch_sets_train_where(qtbot, window, flight,
                                                                      tmp_path):
    window.new_project(flight, tmp_path / "proj")
    place = window.training_place
    qtbot.waitUntil(lambda: place.placement is not None, timeout=WAIT_MS)
    if not known_gpus():  # CI: no CUDA GPU
        assert place.label.text().startswith("CPU preview: no CUDA GPU found")
    place.switch.setCurrentIndex(place.switch.findData("cloud"))
    place.switch.activated.emit(place.switch.currentIndex())
    assert window.project.settings.train.where == "cloud"
    qtbot.waitUntil(lambda: "no cloud is configured" in place.label.text(), timeout=WAIT_MS)
    for key, value in (("cloud.bucket", "b"), ("cloud.role_arn", "arn:aws:iam::1:role/r"),
                       ("cloud.train_image", "1.dkr.ecr/train:1")):
        window.change_setting(key, value)
    qtbot.waitUntil(lambda: place.label.text().startswith("cloud: ml.g5.xlarge, about $"),
                    timeout=WAIT_MS)


def test_a_cloud_run_asks_for_the_cost_first_and_a_declined_one_does_not_start(
        qtbot, window, flight, tmp_path):
    window.new_project(flight, tmp_path / "proj")
    for key, value in (("train.where", "cloud"), ("cloud.bucket", "b"),
                       ("cloud.role_arn", "arn:aws:iam::1:role/r"),
                       ("cloud.train_image", "1.dkr.ecr/train:1")):
        window.change_setting(key, value)
    qtbot.waitUntil(lambda: window.training_place.placement is not None
                    and window.training_place.placement.cloud, timeout=WAIT_MS)
    assert window.run()
    dialog = window.findChild(CostDialog)
    assert dialog is not None and dialog.isVisible()
    text = dialog.findChild(type(window.status_text), "costEstimate").text()
    assert "Train job" in text and "/h: " in text and "Total" in text
    assert "measured" in text or "assumed" in text  # each figure says where it comes from
    dialog.decline.click()
    assert not window.busy and window.holds_lock
    assert window.status_text.text() == "not started: the cloud cost was declined"


# -- the application ----------------------------------------------------------------------------
def test_spaceport_gui_opens_the_project_and_sigterm_closes_it(flight, tmp_path):
    """In its own process, as it is started (an app whose event loop has run and quit leaves
    later event loops of the same process returning at once)."""
    import subprocess
    import time

    from app.ui.child_run import spaceport_command

    project = Project.open(tmp_path / "proj", source=flight)
    proc = subprocess.Popen(spaceport_command("gui", str(project.root)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while (project.lock_holder() or {}).get("pid") != proc.pid and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode()
        time.sleep(0.1)
    assert project.lock_holder()["pid"] == proc.pid  # the window opened the project
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert project.lock_holder() is None and not project.paths.lock.exists()


def test_without_a_display_spaceport_explains_instead_of_aborting(monkeypatch, capsys):
    from app.ui import app as ui_app

    for key in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(ui_app.QApplication, "instance", staticmethod(lambda: None))
    monkeypatch.setattr(ui_app.sys, "platform", "linux")
    assert ui_app.run_gui(None) == 2
    assert "xvfb-run" in capsys.readouterr().err
