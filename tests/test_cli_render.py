"""`spaceport render`: a registered camera's view rendered offscreen through the splat visual,
beside its photo with the PSNR; bad names and a machine without OpenGL are explained."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.cli import main
from app.pipeline.project import ProjectPaths
from tests.ui_scene import write_sparse_model, write_splats
from tests.viewer_gl import needs_gl


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """SfM hand-off (12 nadir PINHOLE cameras, 1024x768), their photos and trained splats."""
    paths = ProjectPaths(tmp_path / "proj")
    write_sparse_model(paths.sfm_model, n_points=200)
    paths.sfm_images.mkdir(parents=True)
    for i in range(1, 13):
        Image.new("RGB", (1024, 768), (90, 140, 70)).save(paths.sfm_images / f"img_{i:02d}.jpg")
    write_splats(paths.splats_ply, n=6000)
    return paths.root


@needs_gl()
@pytest.mark.gui
def test_render_writes_the_cameras_view_and_compares_it_with_the_photo(project, tmp_path,
                                                                       capsys):
    out = tmp_path / "views" / "img_06.png"
    assert main(["render", str(project), "--camera", "img_06.jpg", "--size", "256x192",
                 "-o", str(out), "--compare"]) == 0
    image = np.asarray(Image.open(out))
    assert image.shape == (192, 256, 3)
    assert (image.sum(axis=2) > 60).mean() > 0.5  # the terrain fills most of the nadir view
    photo = np.asarray(Image.open(out.with_name("img_06.photo.png")))
    assert photo.shape == image.shape
    printed = capsys.readouterr().out
    assert "6,000 splats" in printed and "PSNR render vs photo" in printed


@needs_gl()
@pytest.mark.gui
def test_render_takes_any_model_file_in_its_frame(project, tmp_path, capsys):
    from app.pipeline.export import ExportOptions, export_splats

    sog = tmp_path / "scene.sog"
    export_splats(ProjectPaths(project).splats_ply, "sog", sog, ExportOptions())  # centred
    reference, out = tmp_path / "ply.png", tmp_path / "sog.png"
    for model, png in ((ProjectPaths(project).splats_ply, reference), (sog, out)):
        assert main(["render", str(project), "--camera", "img_06.jpg", "--size", "256x192",
                     "--model", str(model), "-o", str(png)]) == 0
    a, b = (np.asarray(Image.open(p), float) for p in (reference, out))
    assert 10 * np.log10(255 ** 2 / np.mean((a - b) ** 2)) > 30  # the sidecar put it back


def test_an_unknown_camera_is_refused_with_the_names_it_could_be(project, tmp_path, capsys):
    assert main(["render", str(project), "--camera", "nope.jpg", "-o",
                 str(tmp_path / "v.png")]) == 2
    err = capsys.readouterr().err
    assert "nope.jpg is not a registered image" in err and "img_01.jpg" in err


def test_a_bad_size_is_refused(project, tmp_path, capsys):
    assert main(["render", str(project), "--camera", "img_01.jpg", "--size", "big", "-o",
                 str(tmp_path / "v.png")]) == 2
    assert "--size expects WIDTHxHEIGHT" in capsys.readouterr().err


def test_without_a_display_or_egl_render_says_so(project, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["EGL_PLATFORM"] = "no-such-platform"  # what a machine without Mesa's EGL amounts to
    result = subprocess.run([sys.executable, "-m", "app", "render", str(project), "--camera",
                             "img_01.jpg", "-o", str(tmp_path / "v.png")],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    assert "Rendering needs OpenGL, from an X display or EGL" in result.stderr
    assert "xvfb-run" in result.stderr
