"""The 3D tab: scene data read from a real COLMAP model and splat PLY, and the vispy canvas
rendering them inside the window (needs an X display: run under xvfb-run).

With SPACEPORT_SCREENSHOTS=DIR set, the GL test also saves window screenshots into DIR.
"""

from __future__ import annotations

import os
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

from app.pipeline.formats.colmap import read_sparse_model
from app.pipeline.project import Project
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
