"""The Flight tab on a real ingested sample flight: each image's state from ingest and SfM,
thumbnails decoded lazily in the pool, the map (geodesy's projection) with click to select,
and excluding images through ingest.exclude."""

from __future__ import annotations

import json
import os
import shutil

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QStandardPaths, Qt

from app.cli import main as cli_main
from app.pipeline.geodesy import lla_to_enu
from app.pipeline.project import Project
from app.ui.image_status import STATE_COLORS
from app.ui.main_window import MainWindow
from app.ui.gpus import known_gpus
from tests.ui_runs import rows

QStandardPaths.setTestModeEnabled(True)
WAIT_MS = 60_000


@pytest.fixture(scope="module")
def ingested(sample_flight, tmp_path_factory):
    """The sample flight ingested, with an sfm/stats.json as the SfM stage writes it (contract 2):
    one image with no verified pair, one in a separate model, the rest registered."""
    root = tmp_path_factory.mktemp("flight-tab") / "proj"
    assert cli_main(["ingest", str(sample_flight), "-o", str(root)]) == 0
    names = [im["file"] for im in json.loads((root / "ingest" / "flight.json").read_text())["images"]]
    images = {n: {"registered": True, "features": 1500, "observations": 900,
                  "mean_error_px": 0.4, "gps_residual_m": 1.2, "reason": None, "reason_text": None}
              for n in names}
    images[names[0]].update(registered=False, observations=None, mean_error_px=None,
                            reason="no_verified_pair", reason_text=None)
    images[names[1]].update(registered=False, observations=None, mean_error_px=None,
                            reason="in_separate_model",
                            reason_text="in a 2-image model apart from the main one")
    (root / "sfm").mkdir()
    (root / "sfm" / "stats.json").write_text(json.dumps(
        {"schema_version": 2, "images": images, "gate": {"passed": True, "failures": [],
                                                         "warnings": []}}))
    return root


@pytest.fixture
def window(qtbot):
    win = MainWindow(with_viewer=False)
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: known_gpus() is not None, timeout=WAIT_MS)  # listed by a child
    win.resize(1280, 900)
    win.show()
    yield win
    win.close()


def loaded(qtbot, win: MainWindow, root) -> None:
    assert win.open_project(root)
    qtbot.waitUntil(lambda: len(win.flight.images.images) > 0, timeout=WAIT_MS)


def test_each_image_shows_its_state_from_ingest_and_sfm(qtbot, window, ingested, tmp_path):
    root = shutil.copytree(ingested, tmp_path / "proj")
    loaded(qtbot, window, root)
    images = window.flight.images.images
    states = [im.state for im in images]
    assert states[:2] == ["not_registered", "not_registered"] and set(states[2:]) == {"registered"}
    assert images[0].label == "not registered: no verified match with another image"
    assert images[1].label == "not registered: in a 2-image model apart from the main one"
    assert images[2].facts["reprojection error"] == "0.40 px"
    assert "sharpness" in images[2].facts  # ingest's image_quality (contract 3)
    assert "10 registered" in window.flight.summary.text()
    assert "GSD" in window.flight.summary.text()
    tip = window.flight.model.data(window.flight.model.index(0), Qt.ItemDataRole.ToolTipRole)
    assert tip.endswith("not registered: no verified match with another image")


def test_the_map_uses_geodesy_and_colours_points_by_state(qtbot, window, ingested, tmp_path):
    root = shutil.copytree(ingested, tmp_path / "proj")
    loaded(qtbot, window, root)
    flight = json.loads((root / "ingest" / "flight.json").read_text())["images"]
    lla = np.array([[im["gps"]["lat"], im["gps"]["lon"], im["gps"]["alt"]] for im in flight])
    expected = lla_to_enu(lla, lla[:, 0].mean(), lla[:, 1].mean(), lla[:, 2].mean())[:, :2]
    x, y = window.flight.map.points.getData()
    np.testing.assert_allclose(np.c_[x, y], expected, atol=1e-6)
    brushes = [p.brush().color().name() for p in window.flight.map.points.points()]
    assert brushes[:2] == [STATE_COLORS["not_registered"]] * 2
    assert brushes[2] == STATE_COLORS["registered"]


def test_clicking_a_map_point_selects_the_image_and_shows_its_photo(qtbot, window, ingested,
                                                                    tmp_path):
    root = shutil.copytree(ingested, tmp_path / "proj")
    loaded(qtbot, window, root)
    window.tabs.setCurrentWidget(window.flight)
    fmap = window.flight.map
    qtbot.wait(200)
    x, y = fmap.points.getData()
    at = fmap.plot.mapFromScene(fmap.plot.plotItem.vb.mapViewToScene(QPointF(x[5], y[5])))
    qtbot.mouseClick(fmap.plot.viewport(), Qt.MouseButton.LeftButton, pos=at)
    qtbot.waitUntil(lambda: window.flight.selected_files() == [window.flight.images.images[5].file],
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.flight.photo.pixmap() is not None
                    and not window.flight.photo.pixmap().isNull(), timeout=WAIT_MS)
    assert window.flight.images.images[5].file in window.flight.details.text()


def test_thumbnails_are_decoded_for_the_rows_in_view_only(qtbot, window, sample_flight, tmp_path):
    flight = tmp_path / "big flight"
    flight.mkdir()
    jpgs = sorted(sample_flight.glob("*.JPG"))
    for i in range(120):  # hard links: a 120-image flight at no disk cost
        os.link(jpgs[i % len(jpgs)], flight / f"IMG_{i:04d}.JPG")
    assert window.new_project(flight, tmp_path / "proj")  # before ingest: the folder's listing
    qtbot.waitUntil(lambda: len(window.flight.images.images) == 120, timeout=WAIT_MS)
    window.tabs.setCurrentWidget(window.flight)
    model = window.flight.model
    qtbot.waitUntil(lambda: bool(model.decoded) and model.loading == 0, timeout=WAIT_MS)
    first_screen = len(model.decoded)
    assert 0 < first_screen < 120
    assert {im.state for im in window.flight.images.images} == {"found"}
    window.flight.grid.scrollToBottom()
    qtbot.waitUntil(lambda: "IMG_0119.JPG" in model.decoded and model.loading == 0,
                    timeout=WAIT_MS)
    assert len(model.decoded) < 120  # the middle was never painted, never decoded


def test_excluding_images_sets_ingest_exclude_and_makes_ingest_stale(qtbot, window, ingested,
                                                                     tmp_path):
    root = shutil.copytree(ingested, tmp_path / "proj")
    project = Project.open(root, create=False)
    from tests.ui_scene import mark_done

    mark_done(project, ("ingest",))
    loaded(qtbot, window, root)
    panel = window.flight
    names = [im.file for im in panel.images.images]
    assert not panel.exclude_button.isEnabled()
    for row in (3, 4):
        panel.grid.selectionModel().select(panel.model.index(row),
                                           panel.grid.selectionModel().SelectionFlag.Select)
    assert panel.exclude_button.isEnabled() and not panel.include_button.isEnabled()
    qtbot.mouseClick(panel.exclude_button, Qt.MouseButton.LeftButton)
    assert Project.open(root, create=False).settings.ingest.exclude == names[3:5]
    window.flush()
    assert rows(window)["ingest"][0] == "stale"
    qtbot.waitUntil(lambda: panel.images.images[3].state == "excluded", timeout=WAIT_MS)
    assert panel.images.images[3].label == "excluded: takes effect when ingest runs again"
    assert panel.include_button.isEnabled()  # the selection survived the reload
    qtbot.mouseClick(panel.include_button, Qt.MouseButton.LeftButton)
    assert Project.open(root, create=False).settings.ingest.exclude == []
    qtbot.waitUntil(lambda: panel.images.images[3].state != "excluded", timeout=WAIT_MS)


def test_after_a_failed_ingest_the_tab_lists_the_unusable_images_and_why(qtbot, window,
                                                                          sample_flight, tmp_path):
    flight = tmp_path / "flight"
    flight.mkdir()
    for jpg in sorted(sample_flight.glob("*.JPG"))[:2]:
        shutil.copy(jpg, flight / jpg.name)
    (flight / "broken.jpg").write_bytes(b"")
    assert cli_main(["ingest", str(flight), "-o", str(tmp_path / "proj")]) != 0  # 2 < 3 usable
    loaded(qtbot, window, tmp_path / "proj")
    by_file = {im.file: im for im in window.flight.images.images}
    assert by_file["broken.jpg"].state == "unusable"
    assert "0 bytes" in by_file["broken.jpg"].reason
    assert {by_file[j.name].state for j in sorted(sample_flight.glob("*.JPG"))[:2]} == {"usable"}


def test_sharpness_is_shown_against_the_flight_s_median_and_exposure_in_percent(tmp_path):
    from app.pipeline.project import ProjectPaths
    from app.ui.image_status import load_flight_images

    paths = ProjectPaths(tmp_path)
    paths.ingest.mkdir(parents=True)
    names = ["A.JPG", "B.JPG", "C.JPG"]
    paths.flight_json.write_text(json.dumps({"images": [
        {"file": n, "usable": True, "width": 4000, "height": 3000} for n in names]}))
    quality = {n: {"sharpness": s, "exposure_mean": 0.3346, "clipped_dark": 0.0,
                   "clipped_bright": b, "flags": f}
               for n, s, b, f in zip(names, (0.5607048869132996, 0.5, 0.1), (0.0, 0.0, 0.123),
                                     ([], [], ["blurred"]))}
    paths.ingest_report.write_text(json.dumps({"image_quality": quality}))
    facts = [im.facts for im in load_flight_images(paths, None, []).images]
    assert facts[0]["sharpness"] == "0.561 (1.12 x the flight's median)"
    assert facts[2]["sharpness"] == "0.1 (0.20 x the flight's median)"
    assert facts[2]["flags"] == "blurred"
    assert facts[0]["exposure"] == "33% mean level"
    assert facts[2]["exposure"] == "33% mean level, 12% clipped bright"


def test_the_flight_summary_states_the_gps_quality_and_the_georeference_accuracy():
    from app.ui.flight_panel import gps_summary

    report = {"gps_quality": {"horizontal": {"verdict": "noisy", "scatter_m": 4.26},
                              "altitude": {"verdict": "unreliable", "drift_m_per_min": 2.07},
                              "vertical_source": "model"}}
    assert gps_summary(report, None) == ("GPS horizontal noisy (scatter 4.3 m), altitude "
                                         "unreliable (drift 2.1 m/min), heights from the model "
                                         "(GPS altitude unreliable)")
    geo = {"georeferenced": True, "accuracy": {"position_m": 6.6, "vertical_m": float("nan"),
                                               "scale": 0.0075, "heading_deg": 0.31}}
    assert gps_summary(report, geo).endswith(  # as the SfM stage's warning says it: 2 sigma
        "; georeferenced to position +-13.2 m, scale +-1.5 %, heading +-0.6 deg (95 %)")
    assert gps_summary(None, {"georeferenced": False}) == \
        "not georeferenced: distances are in the model's units"
