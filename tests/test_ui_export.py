"""The export dialog and the Results tab over a real project: every format written through the
pipeline's export in the pool (read back by splat-transform where node has it), the crop box
shared with the window, the estimate, the quality report, the held-out pair."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pycolmap
import pytest
from PIL import Image

from app.pipeline import atomic
from app.pipeline.export import SUFFIXES, sidecar
from app.pipeline.project_export import export_project
from app.pipeline.formats.ply import read_ply, write_ply
from app.pipeline.formats.splats import SH_C0, Splats
from app.pipeline.project import Project
from app.ui.export_dialog import ExportDialog
from app.ui.export_dialog_model import (count_inside, default_destination, estimate_size,
                                        ply_info, splat_bounds)
from app.ui.main_window import MainWindow
from app.ui.pool import BackgroundPool
from app.viewer.crop import CropBox, export_crop

ROOT = Path(__file__).resolve().parents[1]
SPLAT_TRANSFORM = Path(os.environ.get(
    "SPLAT_TRANSFORM", ROOT / ".tools/splat-transform/node_modules/.bin/splat-transform"))
HAS_SPLAT_TRANSFORM = bool(shutil.which("node")) and SPLAT_TRANSFORM.exists()
FLOATERS = 6
GEO = {"origin": {"lat": 50.82, "lon": -0.14, "alt": 12.0}, "crs": "ENU", "units": "m"}
WAIT_MS = 60_000


def trained_splats(sparse: Path, seed: int = 0) -> Splats:
    """Degree-3 splats at the hand-off's sparse points, plus a few far, faint floaters."""
    rec = pycolmap.Reconstruction(str(sparse))
    pts = list(rec.points3D.values())
    xyz = np.array([p.xyz for p in pts], np.float32)
    rgb = np.array([p.color for p in pts], np.float32) / 255
    rng = np.random.default_rng(seed)
    xyz = np.concatenate([xyz, rng.uniform(30, 40, (FLOATERS, 3)).astype(np.float32)])
    n, f = len(xyz), np.float32
    rgb = np.concatenate([rgb, np.full((FLOATERS, 3), 0.5, f)])
    opacity = np.r_[np.full(n - FLOATERS, 3.0), np.full(FLOATERS, -3.0)].astype(f)
    return Splats(xyz, np.log(rng.uniform(0.08, 0.2, (n, 3))).astype(f),
                  rng.normal(size=(n, 4)).astype(f), opacity, ((rgb - 0.5) / SH_C0).astype(f),
                  rng.normal(0, 0.05, (n, 15, 3)).astype(f))


@pytest.fixture()
def project(tmp_path, rendered_handoff):
    """A trained project: hand-off, geo.json, train/splats.ply and a train record."""
    (tmp_path / "flight").mkdir()
    p = Project.open(tmp_path / "projet é", source=tmp_path / "flight")
    shutil.copytree(rendered_handoff, p.paths.sfm_undistorted)
    write_ply(p.paths.splats_ply, trained_splats(p.paths.sfm_model))
    atomic.write_json(p.paths.geo_json, GEO)
    train = p.record("train")
    train.state, train.outputs = "done", {"splats": "splats.ply", "num_gaussians": 300 + FLOATERS}
    p.save()
    return p


@pytest.fixture()
def pool(qapp):
    pool = BackgroundPool()
    yield pool
    pool.cancel_all()
    pool.wait_idle()


def open_dialog(qtbot, project, pool, crop=None, **kw) -> ExportDialog:
    revealed: list[Path] = []
    dialog = ExportDialog(project, pool, crop or CropBox(), reveal=revealed.append, **kw)
    dialog.revealed = revealed
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.info is not None and "splats" in dialog.estimate.text(),
                    timeout=WAIT_MS)
    return dialog


def export_with(qtbot, dialog: ExportDialog, fmt: str) -> dict:
    dialog.format.setCurrentIndex(dialog.format.findData(fmt))
    assert dialog.start()
    assert not dialog.export_button.isEnabled() and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.report is not None or dialog.task is None, timeout=WAIT_MS)
    assert dialog.report is not None, dialog.status.text()
    return dialog.report


def splat_transform_reads(path: Path, tmp: Path) -> Splats:
    back = tmp / "back.ply"
    subprocess.run([str(SPLAT_TRANSFORM), "-w", "-q", str(path), str(back)], check=True,
                   capture_output=True, timeout=120)
    return read_ply(back)


@pytest.mark.parametrize("fmt", list(SUFFIXES))
def test_the_dialog_exports_each_format_and_ends_on_its_quality_report(qtbot, project, pool,
                                                                       fmt, tmp_path):
    dialog = open_dialog(qtbot, project, pool)
    report = export_with(qtbot, dialog, fmt)
    out = project.paths.exports / f"scene{SUFFIXES[fmt]}"
    assert Path(report["output"]) == out and out.is_file()
    assert json.loads(sidecar(out, "quality").read_text())["bytes"] == out.stat().st_size
    rows = dialog.report_view.rows
    assert dialog.report_box.isVisible()
    assert rows["Size"].startswith(f"{out.stat().st_size / 1000:.2f} kB") and "x smaller" in rows["Size"]
    assert rows["Splats"] == "306 of 306" and "mm" in rows["Position error"]
    assert "held-out view(s) at 64x48" in rows["Render PSNR vs uncompressed"]
    assert "compressed" in rows["Render PSNR vs photos"]
    assert dialog.progress.value() == 1000
    dialog.show_button.click()
    assert dialog.revealed == [out]
    if HAS_SPLAT_TRANSFORM:
        back = splat_transform_reads(out, tmp_path)
        assert len(back) == 306
        offset = np.asarray(report["centre_offset_m"], np.float32)
        assert np.abs(np.sort(back.means[:, 0] + offset[0])
                      - np.sort(read_ply(project.paths.splats_ply).means[:, 0])).max() < 0.05


def test_crop_fields_and_the_windows_crop_box_move_together(qtbot, project, pool):
    crop = CropBox()
    dialog = open_dialog(qtbot, project, pool, crop)
    crop.set((-2, -2, -1), (2, 2, 1), enabled=True)  # e.g. dragged in the 3D view
    assert dialog.crop_fields.enabled.isChecked()
    assert dialog.crop_fields.spins["max_x"].value() == 2.0
    dialog.crop_fields.spins["min_z"].setValue(-0.5)  # typed in the dialog
    assert crop.minimum == (-2.0, -2.0, -0.5)
    dialog.crop_fields.spins["min_x"].setValue(5.0)  # above max x: refused, box unchanged
    assert crop.minimum[0] == -2.0 and "not applied" in dialog.crop_fields.error.text()
    dialog.crop_fields.enabled.setChecked(False)
    assert not crop.enabled and export_crop(crop) is None


def test_a_cropped_floater_filtered_export_keeps_only_the_scene(qtbot, project, pool):
    crop = CropBox()
    dialog = open_dialog(qtbot, project, pool, crop)
    assert "306 splats" in dialog.estimate.text()
    dialog.crop_fields.fit_button.click()
    qtbot.waitUntil(lambda: crop.enabled, timeout=WAIT_MS)
    assert crop.minimum[0] < -1.4 and crop.maximum[0] > 1.4  # holds the scene
    crop.set((-2, -2, -1), (2, 2, 1))
    qtbot.waitUntil(lambda: "300 splats inside the crop box" in dialog.estimate.text(),
                    timeout=WAIT_MS)
    dialog.floaters.setChecked(True)
    qtbot.waitUntil(lambda: "before the floater filter" in dialog.estimate.text(), timeout=WAIT_MS)
    dialog.destination.setText(str(project.paths.exports / "cropped.ply"))
    report = export_with(qtbot, dialog, "ply")
    assert report["output"].endswith("cropped.ply")  # the chosen name kept, suffix checked
    written = read_ply(project.paths.exports / "cropped.ply")
    assert np.abs(written.means).max() < 2.5
    assert report["splats"]["removed"]["outside_crop"] == FLOATERS
    assert "6 outside the crop box" in dialog.report_view.rows["Splats"]


def test_a_bad_destination_is_reported_in_the_dialog_and_nothing_is_written(qtbot, project,
                                                                            pool):
    dialog = open_dialog(qtbot, project, pool)
    dialog.destination.setText(str(project.paths.exports / "scene.txt"))
    assert dialog.start()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT_MS)
    assert "does not end in .sog" in dialog.status.text() and dialog.report is None
    assert not any(project.paths.exports.glob("*"))
    assert dialog.export_button.isEnabled()


def test_without_trained_splats_export_cannot_start_and_says_why(qtbot, tmp_path, pool):
    project = Project.open(tmp_path / "fresh")
    dialog = ExportDialog(project, pool, CropBox())
    qtbot.addWidget(dialog)
    assert "run training first" in dialog.status.text()
    assert not dialog.export_button.isEnabled() and not dialog.start()


def test_size_estimates_match_the_written_files(project):
    info = ply_info(project.paths.splats_ply)
    assert (info.count, info.sh_degree) == (306, 3)
    for fmt in ("ply", "splat", "compressed-ply", "spz"):
        out = project.paths.exports / f"s{SUFFIXES[fmt]}"
        export_project(project, fmt, out)
        size = estimate_size(fmt, info.count, info.sh_degree, project.settings.compress)
        actual = out.stat().st_size
        if size.kind == "at most":
            assert actual <= size.bytes
        else:
            assert abs(size.bytes - actual) < 1500, (fmt, size, actual)
    assert count_inside(project.paths.splats_ply, (-2, -2, -1, 2, 2, 1)) == 300
    lo, hi = splat_bounds(project.paths.splats_ply, keep=0.95)  # 2 % are floaters
    assert max(hi) < 5 and min(lo) > -5


def test_changing_the_format_keeps_the_chosen_name_and_folder(tmp_path):
    exports = tmp_path / "exports"
    assert default_destination(exports, "sog") == exports / "scene.sog"
    assert default_destination(exports, "spz", tmp_path / "a" / "site.compressed.ply") \
        == tmp_path / "a" / "site.spz"
    assert default_destination(exports, "ply", tmp_path / "web" / "meta.json") \
        == tmp_path / "web.ply"


# -- the Results tab -----------------------------------------------------------------------------
def test_results_show_the_held_out_pair_and_the_compression_report(qtbot, project):
    half = np.zeros((48, 64, 3), np.uint8)
    render, photo = half.copy(), half.copy()
    render[..., 0], photo[..., 2] = 200, 220  # red render | blue photo
    Image.fromarray(np.concatenate([render, photo], axis=1)).save(project.paths.train / "heldout.png")
    train = project.record("train")
    train.outputs.update(heldout_image="train/heldout.png", psnr=27.5, ssim=0.912)
    report = export_project(project, "sog", project.paths.scene_sog)
    project.record("compress").outputs = {"quality": "compress/scene.sog.quality.json"}
    project.save()

    win = MainWindow(with_viewer=False)
    qtbot.addWidget(win)
    assert win.open_project(project.root)
    view = win.results
    qtbot.waitUntil(lambda: view.files is not None, timeout=WAIT_MS)
    assert view.render.image.width() == 64 and view.photo.image.width() == 64
    assert view.render.image.pixelColor(10, 10).red() == 200
    assert view.photo.image.pixelColor(10, 10).blue() == 220
    assert "PSNR 27.50 dB, SSIM 0.912" in view.caption.text()
    assert view.report.rows["File"] == report["output"]
    assert "x smaller" in view.report.rows["Size"]
    assert "dB" in view.report.rows["Render PSNR vs uncompressed"]
    win.export_action.trigger()
    assert win.export_dialog is not None and win.export_dialog.crop is win.crop_box
    win.close()


def test_results_of_an_untrained_project_say_what_is_missing(qtbot, tmp_path):
    (tmp_path / "flight").mkdir()
    project = Project.open(tmp_path / "fresh", source=tmp_path / "flight")
    win = MainWindow(with_viewer=False)
    qtbot.addWidget(win)
    assert win.open_project(project.root)
    qtbot.waitUntil(lambda: win.results.files is not None, timeout=WAIT_MS)
    assert "No held-out render yet" in win.results.caption.text()
    assert win.results.render.image.isNull()
    assert "No compression report yet" in win.results.report.findChild(type(win.results.caption)).text()
    win.close()
