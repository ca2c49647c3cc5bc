"""The 3D tab: scene data read from a real COLMAP model and splat PLY, and the vispy canvas
rendering them inside the window (needs an X display: run under xvfb-run).

With SPACEPORT_SCREENSHOTS=DIR set, the GL test also saves window screenshots into DIR.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

from app.pipeline.formats.colmap import read_sparse_model
from app.pipeline.project import Project, ProjectPaths
from app.viewer.scene_data import sparse_scene
from tests.ui_scene import (mark_done, past_run_events, scene_points, write_events,
                            write_ingest, write_sparse_model, write_splats)

STAGES = ("ingest", "sfm", "train")
needs_display = pytest.mark.skipif(not os.environ.get("DISPLAY"),
                                   reason="the vispy canvas needs an X display (xvfb-run -a)")


def test_sparse_scene_has_every_point_and_a_frustum_at_each_camera_centre(tmp_path):
    write_sparse_model(tmp_path / "model", n_points=500)
    scene = sparse_scene(read_sparse_model(tmp_path / "model"))
    assert scene.points.xyz.shape == (500, 3)
    xyz, rgb = scene_points(500)
    order = np.lexsort(scene.points.xyz.T)
    np.testing.assert_allclose(scene.points.xyz[order], xyz[np.lexsort(xyz.T)], atol=1e-4)
    assert len(scene.centers) == 12 and scene.frusta.shape == (12 * 16, 3)
    assert {tuple(c) for c in scene.centers.round(3)} == \
        {(x, y, 30.0) for y in (-20, 0, 20) for x in (-30, -10, 10, 30)}
    apex, corner = scene.frusta[0], scene.frusta[1]
    assert tuple(apex) in {tuple(c) for c in scene.centers}
    assert corner[2] < apex[2]  # nadir cameras: the image plane lies below the camera


@pytest.fixture
def finished_project(tmp_path: Path) -> Path:
    """A project whose SfM and training are done: model, splats and the run's event log."""
    (tmp_path / "flight").mkdir()
    project = Project.open(tmp_path / "proj", source=tmp_path / "flight")
    write_ingest(project.paths)
    write_sparse_model(project.paths.sfm_model, n_points=3000)
    write_splats(project.paths.previews / "step_3000.ply", n=6000)
    write_events(project.paths.events, past_run_events())
    mark_done(project, STAGES)
    return project.root


@needs_display
@pytest.mark.gui
def test_window_draws_the_sparse_cloud_frusta_and_splats(qtbot, finished_project):
    from app.ui.app import create_application
    from app.ui.main_window import MainWindow
    create_application()  # the stylesheet, as `spaceport` shows it
    win = MainWindow(with_viewer=True)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    assert win.open_project(finished_project)
    assert win.viewer.loaded == {"sparse": finished_project / "sfm/undistorted/sparse",
                                 "splats": finished_project / "train/previews/step_3000.ply"}
    qtbot.waitUntil(lambda: "3,000 points, 12 cameras" in win.viewer.status.text()
                    and "6,000 splats" in win.viewer.status.text(), timeout=20_000)
    assert [win.stage_list.topLevelItem(i).text(1) for i in range(3)] == ["done"] * 3  # not stale
    win.tabs.setCurrentWidget(win.viewer)
    scene = win.viewer.scene
    qtbot.waitUntil(lambda: scene.splats.scheduler.complete, timeout=20_000)
    both = scene.render()[..., :3].astype(int)
    background = both[2, 2]
    lit = np.abs(both - background).sum(axis=2) > 30
    assert lit.mean() > 0.05  # the points cover a good part of the view
    win.viewer.show_splats.setChecked(False)
    sparse_only = scene.render()[..., :3].astype(int)
    assert np.abs(sparse_only - both).sum(axis=2).astype(bool).mean() > 0.01
    shots = os.environ.get("SPACEPORT_SCREENSHOTS")
    if shots:
        _save_screenshots(win, Path(shots), qtbot)
    win.close()


def _save_screenshots(win, folder: Path, qtbot) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    win.viewer.show_splats.setChecked(False)
    win.grab().save(str(folder / "3d_sparse_frusta.png"))
    win.viewer.show_splats.setChecked(True)
    win.viewer.show_sparse.setChecked(False)
    win.grab().save(str(folder / "3d_splats.png"))
    win.viewer.show_sparse.setChecked(True)
    for name, tab in (("flight", win.flight), ("sfm_charts", win.sfm_charts),
                      ("training_charts", win.train_charts), ("settings", win.settings_panel)):
        win.tabs.setCurrentWidget(tab)
        qtbot.wait(100)
        win.grab().save(str(folder / f"{name}.png"))


def in_view(scene, points: np.ndarray) -> bool:
    """True when every point projects inside the canvas."""
    w, h = scene.camera.viewport
    px = scene.project(points)
    return bool(np.all((px >= 0) & (px <= [w, h])))


@needs_display
@pytest.mark.gui
def test_a_project_opened_behind_another_tab_is_fitted_and_refined_when_the_tab_shows(
        qtbot, finished_project):
    from app.ui.main_window import MainWindow
    from app.viewer.canvas import box_corners

    win = MainWindow(with_viewer=True)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    assert win.tabs.currentWidget() is not win.viewer  # the window opens on another tab
    win.open_project(finished_project)
    viewer, scene = win.viewer, win.viewer.scene
    qtbot.waitUntil(lambda: viewer.arrays is not None and scene.sparse_data is not None,
                    timeout=20_000)
    win.tabs.setCurrentWidget(win.viewer)
    qtbot.waitUntil(lambda: "6,000 of 6,000 splats drawn" in viewer.status.text(), timeout=20_000)
    native = scene.native.size()
    assert scene.camera.viewport == (native.width(), native.height())
    model = box_corners(*viewer.arrays.bounds)
    assert in_view(scene, model) and in_view(scene, scene.sparse_data.centers)
    w, h = scene.camera.viewport
    spread = np.ptp(scene.project(np.r_[model, scene.sparse_data.centers]), axis=0)
    assert spread[0] > 0.8 * w or spread[1] > 0.8 * h  # it fills the view, not a corner of it
    scene.camera.pose.orbit(0.5, 0.2)
    scene.camera.view_changed()
    win.resize(1100, 800)  # moved away from home: a resize keeps the view
    qtbot.waitUntil(lambda: scene.camera.viewport[0] < w, timeout=5_000)
    assert not in_view(scene, scene.sparse_data.centers) or not scene.camera.at_home
    scene.fit()  # Reset view: fitted to the new size
    assert in_view(scene, model) and in_view(scene, scene.sparse_data.centers)
    win.close()


@pytest.fixture
def tab(qtbot, finished_project):
    """The 3D tab of a window showing the finished project, its splats drawn in full."""
    from app.ui.main_window import MainWindow

    win = MainWindow(with_viewer=True)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    win.open_project(finished_project)
    win.tabs.setCurrentWidget(win.viewer)
    viewer = win.viewer
    qtbot.waitUntil(lambda: viewer.arrays is not None and viewer.scene.sparse_data is not None
                    and viewer.scene.splats.scheduler.complete, timeout=20_000)
    yield viewer
    win.close()


def complete(qtbot, viewer) -> None:
    qtbot.waitUntil(lambda: viewer.scene.splats.scheduler.complete, timeout=20_000)


@needs_display
@pytest.mark.gui
def test_a_training_snapshot_replaces_the_splats_and_the_camera_stays(qtbot, tab,
                                                                       finished_project):
    paths = ProjectPaths(finished_project)
    tab.scene.camera.pose.orbit(0.4, 0.1)
    tab.scene.camera.view_changed()
    pose = tab.scene.camera.pose.viewmat.copy()
    for step in (3100, 3200):  # two snapshots at once: the throttle loads the newest
        write_splats(paths.previews / f"step_{step}.ply", n=2000 + step, seed=step)
        tab.show_project(paths, paths.previews / f"step_{step}.ply", sparse=False)
    qtbot.waitUntil(lambda: "step_3200.ply" in tab.model_text, timeout=20_000)
    complete(qtbot, tab)
    assert "of 5,200 splats drawn" in tab.status.text()
    np.testing.assert_array_equal(tab.scene.camera.pose.viewmat, pose)


@needs_display
@pytest.mark.gui
def test_choosing_a_camera_views_through_it_beside_its_photo_with_the_psnr(qtbot, tab,
                                                                          finished_project):
    from PIL import Image

    paths = ProjectPaths(finished_project)
    paths.sfm_images.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (1024, 768), (90, 140, 70)).save(paths.sfm_images / "img_06.jpg")
    assert [s.name for s in tab.cameras.statuses][:2] == ["img_01.jpg", "img_02.jpg"]
    tab.cameras.chosen.emit("img_06.jpg")
    cam = next(c for c in tab.scene.sparse_data.cameras if c.name == "img_06.jpg")
    np.testing.assert_allclose(tab.scene.camera.pose.viewmat, cam.viewmat, atol=1e-9)
    qtbot.waitUntil(lambda: tab.compare.value is not None, timeout=30_000)
    assert tab.compare.render.shape == tab.compare.photo.shape
    assert "PSNR render vs photo" in tab.compare.psnr_label.text()
    assert 5 < tab.compare.value < 40


@needs_display
@pytest.mark.gui
def test_the_camera_list_shows_each_images_sfm_status_and_reason(qtbot, tab, finished_project):
    import json

    stats = {"images": {"img_01.jpg": {"registered": True, "mean_error_px": 0.61},
                        "img_13.jpg": {"registered": False, "reason": "no_verified_pair",
                                       "reason_text": "no image pair with it was verified"}}}
    ProjectPaths(finished_project).sfm_stats.write_text(json.dumps(stats))
    tab.load_sparse(ProjectPaths(finished_project).sfm_model)
    qtbot.waitUntil(lambda: any(s.name == "img_13.jpg" for s in tab.cameras.statuses),
                    timeout=20_000)
    rows = {tab.cameras.topLevelItem(i).text(0): [tab.cameras.topLevelItem(i).text(c)
                                                 for c in range(4)]
            for i in range(tab.cameras.topLevelItemCount())}
    assert rows["img_01.jpg"] == ["img_01.jpg", "registered", "0.61", ""]
    assert rows["img_13.jpg"][1:] == ["not registered", "-", "no image pair with it was verified"]
    assert len(rows) == 13  # the model's other cameras are listed as registered


@needs_display
@pytest.mark.gui
def test_clicks_in_measure_mode_pick_points_and_label_their_distance(qtbot, tab,
                                                                    finished_project):
    tab.measure.toggle.setChecked(True)
    w, h = tab.scene.camera.viewport
    for pos in ((0.4 * w, 0.55 * h), (0.6 * w, 0.5 * h)):
        tab.scene.on_click("ray", tab.scene.ray(pos))
        qtbot.waitUntil(lambda: not tab.pool.busy("viewer-pick"), timeout=10_000)
    assert len(tab.measure.points) == 2
    a, b = tab.measure.points
    assert abs(a[2]) < 15 and abs(b[2]) < 15  # on the terrain (heights 0-15 m), not in the air
    assert tab.scene.measure_text.text == tab.measure.distance_label()
    assert "units are unknown" in tab.measure.text.text()  # no sfm/geo.json: not referenced
    geo = {"georeferenced": True, "origin": {"lat": 50.82, "lon": -0.137, "alt": 47.8},
           "accuracy": {"position_m": 0.3, "vertical_m": 0.9, "scale": 0.002}}
    paths = ProjectPaths(finished_project)
    paths.geo_json.write_text(json.dumps(geo))
    tab.load_sparse(paths.sfm_model)  # what reopening the project does
    qtbot.waitUntil(lambda: tab.georef.metric, timeout=10_000)
    for pos in ((0.4 * w, 0.55 * h), (0.6 * w, 0.5 * h)):
        tab.scene.on_click("ray", tab.scene.ray(pos))
        qtbot.waitUntil(lambda: not tab.pool.busy("viewer-pick"), timeout=10_000)
    text = tab.measure.text.text()
    assert "m (horizontal" in text and "50.8" in text and "position 0.30 m" in text


@needs_display
@pytest.mark.gui
def test_dragging_a_crop_handle_moves_that_face_and_hides_the_splats_outside(qtbot, tab):
    from types import SimpleNamespace

    tab.fit_crop()
    complete(qtbot, tab)
    before = tab.scene.splat_counts()[0]
    box, scene = tab.crop, tab.scene
    points, faces = scene._handles()
    handle = scene.project(points)[faces.index((0, 1))]  # the +x face
    target = scene.project(points)[faces.index((0, 0))]
    press = SimpleNamespace(pos=handle, button=1)
    scene._mouse_press(press)
    assert not scene.camera.interactive  # the drag moves the face, not the view
    end = handle + 0.5 * (target - handle)
    scene._mouse_move(SimpleNamespace(pos=end, last_event=press, button=1))
    scene._mouse_release(SimpleNamespace(pos=end, button=1))
    assert scene.camera.interactive
    lo, hi = np.array(box.minimum), np.array(box.maximum)
    assert lo[0] < hi[0] < lo[0] + 0.75 * (hi[0] - lo[0]) / 0.5  # about halfway
    assert tab.crop_panel.crop_fields.spins["max_x"].value() == pytest.approx(hi[0], abs=0.01)
    complete(qtbot, tab)
    assert tab.scene.splat_counts()[0] < 0.8 * before


@needs_display
@pytest.mark.gui
def test_export_cropped_opens_the_export_dialog_with_the_same_box(qtbot, tab, finished_project):
    from app.pipeline.formats.model import read_model

    paths = ProjectPaths(finished_project)
    write_splats(paths.splats_ply, n=3000)
    tab.crop.set((-10, -10, -5), (10, 10, 20), enabled=False)
    tab.crop_panel.export_button.click()
    dialog = tab.window().export_dialog
    assert dialog.isVisible() and dialog.crop is tab.crop and tab.crop.enabled
    qtbot.waitUntil(lambda: dialog.info is not None, timeout=20_000)
    dialog.format.setCurrentIndex(dialog.format.findData("ply"))
    assert dialog.start()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=60_000)
    assert dialog.report is not None, dialog.status.text()
    means = read_model(Path(dialog.report["output"])).means
    assert 0 < len(means) < 3000 and np.all(np.abs(means[:, :2]) <= 10)
    dialog.close()


@needs_display
@pytest.mark.gui
def test_floaters_are_highlighted_before_export(qtbot, tab):
    tab.crop_panel.floaters.setChecked(True)
    qtbot.waitUntil(lambda: "would be removed" in tab.crop_panel.floater_text.text(),
                    timeout=30_000)
    marked = tab.scene.splats.data.table[2][:, 3] < 0
    assert tab.scene.splats.highlight and int(marked.sum()) == int(
        tab.crop_panel.floater_text.text().split(" of ")[0].replace(",", ""))
    tab.crop_panel.floaters.setChecked(False)
    assert not (tab.scene.splats.data.table[2][:, 3] < 0).any()


@needs_display
@pytest.mark.gui
def test_navigation_keys_reset_and_screenshot(qtbot, tab, tmp_path):
    from types import SimpleNamespace

    from vispy.util.keys import Key

    camera = tab.scene.camera
    home = camera.pose.eye.copy()
    forward = camera.pose.R[2].copy()
    key = SimpleNamespace(type="key_press", key=Key("W"), handled=False)
    camera.viewbox_key_event(key)
    step = camera.pose.eye - home
    assert np.allclose(step / np.linalg.norm(step), forward) and key.handled
    camera.viewbox_key_event(SimpleNamespace(type="key_press", key=Key("R"), handled=False))
    np.testing.assert_allclose(camera.pose.eye, home)
    tab.save_screenshot(tmp_path / "view.png")
    from PIL import Image

    image = np.asarray(Image.open(tmp_path / "view.png"))
    assert image.shape[:2] == tab.scene.canvas.render().shape[:2] and image.std() > 5


@needs_display
@pytest.mark.gui
def test_the_compressed_scene_opens_in_the_projects_frame(qtbot, tab, finished_project):
    from app.pipeline.export import ExportOptions, export_splats

    paths = ProjectPaths(finished_project)
    write_splats(paths.splats_ply, n=3000)
    export_splats(paths.splats_ply, "sog", paths.scene_sog, ExportOptions())  # centred
    tab.show_source("Compressed (compress/scene.sog)")
    qtbot.waitUntil(lambda: "scene.sog" in tab.model_text, timeout=30_000)
    assert "placed in the project's ENU frame by scene.sog.georef.json" in tab.model_text or \
        "placed in the project's SfM frame" in tab.model_text
    lo, hi = tab.arrays.bounds
    assert -45 < lo[0] < -30 and 30 < hi[0] < 45  # the scene's own extent, not centred on 0
    tab.open_model(paths.splats_ply)
    qtbot.waitUntil(lambda: tab.source.currentIndex() == 1, timeout=5_000)


@needs_display
@pytest.mark.gui
def test_a_model_file_dropped_on_the_tab_opens(qtbot, tab, tmp_path):
    from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    from app.pipeline.formats.splat import write_splat
    from tests.viewer_gl import random_scene

    write_splat(tmp_path / "elsewhere.splat", random_scene(700, sh_degree=0))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt")),
                  QUrl.fromLocalFile(str(tmp_path / "elsewhere.splat"))])
    tab.dropEvent(QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime,
                             Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: "elsewhere.splat" in tab.model_text, timeout=20_000)
    assert "700 splats (.splat" in tab.model_text and "own frame" in tab.model_text
    assert tab.source.currentText() == "Opened: elsewhere.splat"


@needs_display
@pytest.mark.gui
def test_measuring_between_two_cameras_gives_their_distance(qtbot, tab):
    from types import SimpleNamespace

    tab.measure.toggle.setChecked(True)
    scene = tab.scene
    centres = scene.sparse_data.centers
    for i in (0, 3):  # img_01 at (-30, -20, 30) and img_04 at (30, -20, 30)
        pos = scene.project(centres[i:i + 1])[0]
        scene._mouse_press(SimpleNamespace(pos=pos, button=1))
        scene._mouse_release(SimpleNamespace(pos=pos, button=1))
    assert len(tab.measure.points) == 2
    assert np.linalg.norm(tab.measure.points[1] - tab.measure.points[0]) == pytest.approx(60.0,
                                                                                         abs=1e-3)


def _mouse(native, kind: str, x: float, y: float) -> None:
    """Send a left-button mouse event to the canvas widget, as the window system would."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    kind, button, buttons = {"press": (QEvent.Type.MouseButtonPress, left, left),
                             "move": (QEvent.Type.MouseMove, none, left),
                             "release": (QEvent.Type.MouseButtonRelease, left, none)}[kind]
    QApplication.sendEvent(native, QMouseEvent(kind, QPointF(x, y), QPointF(x, y), button, buttons,
                                               Qt.KeyboardModifier.NoModifier))


@needs_display
@pytest.mark.gui
def test_a_left_drag_on_the_canvas_orbits_and_the_press_keeps_the_refined_image(qtbot, tab):
    scene = tab.scene
    targets = {name: fbo.color_buffer.shape for name, fbo in scene.splats._targets.items()}
    eye = scene.camera.pose.eye.copy()
    picked, render_picking = [], scene.canvas._render_picking
    scene.canvas._render_picking = lambda *a: (picked.append(1), render_picking(*a))[1]
    _mouse(scene.native, "press", 300, 300)
    assert scene.splats.scheduler.complete  # vispy's picking pass at a press left it alone
    assert {n: f.color_buffer.shape for n, f in scene.splats._targets.items()} == targets
    for x in (310, 330, 350):
        qtbot.wait(15)  # vispy drops moves closer than 10 ms
        _mouse(scene.native, "move", x, 300)
    _mouse(scene.native, "release", 350, 300)
    moved = scene.camera.pose.eye - eye
    assert np.linalg.norm(moved) > 1.0 and abs(moved[2]) < 1e-6  # turned about the vertical
    assert not picked  # no picking render of the scene to find who takes the press (stalls)


@needs_display
@pytest.mark.gui
def test_moves_between_two_frames_update_the_view_once_at_the_next_frame(qtbot, tab):
    from types import SimpleNamespace

    from vispy.util.keys import Key

    camera, updates = tab.scene.camera, []
    update = camera._update_transform
    camera._update_transform = lambda *a: (updates.append(1), update(*a))
    for _ in range(3):  # as auto-repeat or mouse moves arrive faster than frames
        camera.viewbox_key_event(SimpleNamespace(type="key_press", key=Key("W"), handled=False))
    assert not updates  # nothing of vispy's is touched per move
    qtbot.waitUntil(lambda: len(updates) > 0, timeout=10_000)  # the frame they asked for
    assert len(updates) == 1
    mvp = camera.mvp(camera.viewport)  # the latest pose is drawn (vispy maps in float32)
    np.testing.assert_allclose(tab.scene.splats._mvp(), mvp, atol=1e-5 * np.abs(mvp).max())


@needs_display
@pytest.mark.gui
def test_refinement_chunks_are_drawn_between_frames(qtbot, tab):
    scene, paints, chunks = tab.scene, [], []
    scheduler = scene.splats.scheduler
    scheduler.frame_budget_s = scheduler.refine_budget_s = 1e-9  # the smallest: many chunks
    draw_splats = scene.splats._draw_splats
    scene.splats._draw_splats = lambda plan, *a: (chunks.append(plan.target), draw_splats(plan, *a))
    scene.canvas.events.draw.connect(lambda event: paints.append(1))
    scene.camera.pose.orbit(0.3, 0.0)
    scene.camera.view_changed()
    qtbot.waitUntil(lambda: len(paints) > 0, timeout=10_000)
    qtbot.waitUntil(lambda: scheduler.complete and "6,000 of 6" in tab.status.text(),
                    timeout=30_000)
    refine = chunks.count("refine")
    assert refine >= 10 and len(paints) < refine / 2  # a frame is not drawn for each chunk
