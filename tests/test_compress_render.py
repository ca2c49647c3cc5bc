"""Render PSNR in the quality report: training's held-out views rendered before and after export."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pycolmap
import pytest

from app.pipeline.compress.render_check import render_psnr
from app.pipeline.compress.settings import CompressSettings
from app.pipeline.export import sidecar
from app.pipeline.formats.ply import read_ply, write_ply
from app.pipeline.formats.splats import SH_C0, Splats
from app.pipeline.project import Project
from app.pipeline.project_export import export_project


def _splats_at_sparse_points(sparse, sh_degree: int = 3, seed: int = 0) -> Splats:
    """Trained-looking splats at the model's sparse points, coloured like them, with SH from a
    few view-dependent looks (as trained SH cluster; random per-splat SH would not)."""
    rec = pycolmap.Reconstruction(str(sparse))
    pts = list(rec.points3D.values())
    xyz = np.array([p.xyz for p in pts], np.float32)
    rgb = np.array([p.color for p in pts], np.float32) / 255
    rng = np.random.default_rng(seed)
    n, k = len(xyz), (sh_degree + 1) ** 2 - 1
    looks = rng.normal(0, 0.1, (8, k, 3))
    f = np.float32
    return Splats(xyz, np.log(rng.uniform(0.08, 0.2, (n, 3))).astype(f),
                  rng.normal(size=(n, 4)).astype(f), np.full(n, 3.0, f),
                  ((rgb - 0.5) / SH_C0).astype(f), looks[rng.integers(0, 8, n)].astype(f))


@pytest.fixture()
def project(tmp_path, rendered_handoff):
    """A project with the rendered hand-off and splats trained on it."""
    p = Project.open(tmp_path / "projet é")
    shutil.copytree(rendered_handoff, p.paths.sfm_undistorted)
    write_ply(p.paths.splats_ply, _splats_at_sparse_points(p.paths.sfm_model))
    return p


@pytest.mark.parametrize("fmt, name", [("sog", "s.sog"), ("spz", "s.spz")])
def test_export_reports_render_psnr_of_the_held_out_views_against_the_uncompressed(project, fmt,
                                                                                   name):
    out = project.paths.exports / name
    report = export_project(project, fmt, out)
    render = report["render"]
    assert render["views"] == render["held_out"] == 1 and render["of_views"] == 8 and render["resolution"] == "64x48"
    assert render["psnr_vs_uncompressed_db"]["mean"] > 35  # issue 5: under 0.5 dB of loss
    assert abs(render["psnr_vs_photos_db"]["loss"]) < 0.5
    assert json.loads(sidecar(out, "quality").read_text())["render"] == render


def test_a_lossy_decoding_shows_in_the_render_psnr(project):
    source = read_ply(project.paths.splats_ply)
    moved = Splats(source.means + np.float32(0.05), source.scales, source.quats,
                   source.opacities, source.sh0, source.shN)
    render = render_psnr(project.paths.sfm_model, project.paths.sfm_images, 8, source, moved,
                         CompressSettings(), 1600)
    assert render["psnr_vs_uncompressed_db"]["mean"] < 30
    same = render_psnr(project.paths.sfm_model, project.paths.sfm_images, 8, source, source,
                       CompressSettings(), 1600)
    assert same["psnr_vs_uncompressed_db"]["mean"] == 100.0  # identical renders (PSNR cap)


def test_render_psnr_is_absent_with_the_reason_when_no_view_is_held_out(project):
    project.settings.train.eval_every_n_image = 0
    report = export_project(project, "splat", project.paths.exports / "s.splat")
    assert "eval_every_n_image" in report["render"]["skipped"]
    project.settings.train.eval_every_n_image = 8
    for f in project.paths.sfm_model.iterdir():
        f.unlink()
    report = export_project(project, "splat", project.paths.exports / "s.splat")
    assert "no SfM hand-off" in report["render"]["skipped"]


def test_the_check_is_bounded_in_views_and_time(project):
    source = read_ply(project.paths.splats_ply)
    args = (project.paths.sfm_model, project.paths.sfm_images, 2, source, source)
    assert render_psnr(*args, CompressSettings(render_max_views=2), 1600)["views"] == 2
    timed = render_psnr(*args, CompressSettings(render_budget_s=0.0), 1600)
    assert timed["views"] == 1 and timed["held_out"] == 4
    big = render_psnr(*args, CompressSettings(render_max_splats_cpu=10), 1600)
    assert "render_max_splats_cpu" in big["skipped"]


def test_cli_export_prints_the_render_psnr(project, capsys):
    from app.cli import main

    assert main(["export", str(project.root), "--format", "sog", "-o",
                 str(project.paths.exports / "c.sog")]) == 0
    assert "render PSNR" in capsys.readouterr().out
