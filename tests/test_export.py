"""Exports of a project: every format, selections, sidecars, bad input and the compress stage."""

from __future__ import annotations

import errno
import json
import os

import numpy as np
import pytest

from app.cli import main
from app.pipeline import atomic
from app.pipeline.compress.stage import CompressStage
from app.pipeline.errors import Cancelled, InputError, ProjectError
from app.pipeline.events import Progress
from app.pipeline.export import ExportOptions, sidecar
from app.pipeline.formats.ply import write_ply
from app.pipeline.project import Project
from app.pipeline.project_export import export_project
from app.pipeline.runner import Runner
from app.pipeline.stage import CancelToken
from splat_scenes import drone_scene

GEO = {"origin": {"lat": 50.82, "lon": -0.14, "alt": 12.0}, "crs": "ENU", "units": "m",
       "accuracy": {"position_m": 1.5, "scale": 0.004, "heading_deg": 0.2, "vertical_m": 3.0}}
FILES = {"sog": "scene.sog", "ply": "scene.ply", "splat": "scene.splat", "spz": "scene.spz",
         "compressed-ply": "scene.compressed.ply"}


@pytest.fixture()
def project(tmp_path):
    """A project folder (non-ASCII path) holding trained splats 300 m from the ENU origin."""
    p = Project.open(tmp_path / "projet é")
    write_ply(p.paths.splats_ply, drone_scene(3000, extent=60, sh_degree=3, offset=(300, -200, 5)))
    atomic.write_json(p.paths.geo_json, GEO)
    return p


@pytest.mark.parametrize("fmt", list(FILES))
def test_every_format_writes_the_file_its_quality_report_and_georef(project, fmt):
    out = project.paths.exports / FILES[fmt]
    events = []
    report = export_project(project, fmt, out, emit=events.append)
    assert out.is_file() and report["bytes"] == out.stat().st_size
    quality = json.loads(sidecar(out, "quality").read_text())
    assert quality["format"] == fmt and quality["splats"]["written"] == 3000
    assert quality["ratio_to_ply"] == pytest.approx(quality["source_bytes"] / out.stat().st_size, 0.01)
    assert set(quality["errors"]) >= {"position_mm", "rotation_deg", "colour", "opacity", "log_scale"}
    georef = json.loads(sidecar(out, "georef").read_text())
    assert georef["origin"] == GEO["origin"] and georef["accuracy"] == GEO["accuracy"]
    assert [e.fraction for e in events if isinstance(e, Progress)][-1] == 1.0


def test_sog_is_centred_and_the_offset_kept_in_the_georef(project):
    out = project.paths.exports / "scene.sog"
    report = export_project(project, "sog", out)
    offset = json.loads(sidecar(out, "georef").read_text())["offset_m"]
    assert offset[0] == pytest.approx(300, abs=10) and offset[1] == pytest.approx(-200, abs=10)
    assert report["errors"]["position_mm"]["mean"] < 1.0  # 30 m around the centre
    assert report["ratio_to_ply"] > 5


def test_sh_degree_crop_and_floater_options_select_splats(project):
    splats = drone_scene(3000, extent=60, sh_degree=3, offset=(300, -200, 5))
    splats.means[:5] += 5000  # far floaters
    write_ply(project.paths.splats_ply, splats)
    out = project.paths.exports / "s.ply"
    report = export_project(project, "ply", out, ExportOptions(sh_degree=1, filter_floaters=True))
    assert report["sh_degree"] == 1 and report["splats"]["removed"]["floaters"] >= 5
    report = export_project(project, "ply", out, ExportOptions(crop=(270, -230, -10, 300, -200, 40)))
    assert 0 < report["splats"]["written"] < 3000
    assert report["splats"]["removed"]["outside_crop"] == 3000 - report["splats"]["written"]


def test_an_existing_destination_is_replaced_and_a_failed_write_leaves_it_intact(project, monkeypatch):
    out = project.paths.exports / "scene.splat"
    out.parent.mkdir(parents=True)
    out.write_bytes(b"old")
    export_project(project, "splat", out)
    assert out.stat().st_size == 32 * 3000
    before = out.read_bytes()

    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(ProjectError, match="space"):
        export_project(project, "splat", out, ExportOptions(sh_degree=0, crop=(0, -300, -50, 400, 0, 50)))
    assert out.read_bytes() == before
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


def test_zero_splats_and_a_missing_ply_are_refused(project):
    with pytest.raises(InputError, match="no splats"):
        export_project(project, "sog", project.paths.exports / "s.sog",
                       ExportOptions(crop=(0, 0, 0, 1, 1, 1)))
    project.paths.splats_ply.unlink()
    with pytest.raises(InputError, match="training"):
        export_project(project, "sog", project.paths.exports / "s.sog")


def test_a_file_name_that_does_not_match_the_format_is_refused(project):
    with pytest.raises(InputError, match=r"\.spz"):
        export_project(project, "spz", project.paths.exports / "scene.ply")


def test_cancel_leaves_no_destination(project):
    token = CancelToken()
    token.cancel()
    out = project.paths.exports / "scene.sog"
    with pytest.raises(Cancelled):
        export_project(project, "sog", out, cancel=token)
    assert not out.exists()


def test_a_cancel_while_the_export_is_checked_leaves_the_destination_as_it_was(project):
    from app.pipeline.export import export_splats

    out = project.paths.exports / "scene.spz"
    atomic.write_bytes(out, b"the previous export")
    atomic.write_json(sidecar(out, "quality"), {"bytes": 19})
    token = CancelToken()

    def render_check(reference, decoded):  # the new file is written and read back by now
        token.cancel()
        return {"views": 0}

    with pytest.raises(Cancelled):
        export_splats(project.paths.splats_ply, "spz", out, cancel=token, render_check=render_check)
    assert out.read_bytes() == b"the previous export"
    assert json.loads(sidecar(out, "quality").read_text()) == {"bytes": 19}
    assert sorted(p.name for p in out.parent.iterdir()) == ["scene.spz", "scene.spz.quality.json"]


def test_cli_export_prints_json_lines_and_fails_cleanly_on_bad_input(project, capsys):
    out = project.paths.exports / "c.spz"
    assert main(["export", str(project.root), "--format", "spz", "-o", str(out),
                 "--sh-degree", "2", "--crop=200,-300,-50,400,0,50", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {line["type"] for line in lines[:-1]} == {"Progress", "Log"}
    assert [line["fraction"] for line in lines if line["type"] == "Progress"][-1] == 1.0
    assert lines[-1]["type"] == "StageFinished" and lines[-1]["stage"] == "export"
    assert lines[-1]["outputs"]["sh_degree"] == 2 and lines[-1]["outputs"]["output"] == str(out)
    assert main(["export", str(project.root), "--format", "spz", "-o", str(out),
                 "--crop", "1,2,3", "--json"]) != 0
    captured = capsys.readouterr()
    assert "--crop expects" in captured.err
    failed = json.loads(captured.out.splitlines()[-1])
    assert failed["type"] == "StageFailed" and "--crop expects" in failed["reason"]


def test_compress_stage_writes_scene_sog_through_the_runner(project):
    events = []
    with project:
        assert Runner(project, [CompressStage()], emit=events.append).run()
    rec = project.record("compress")
    assert rec.state == "done" and rec.outputs["scene"] == "compress/scene.sog"
    assert project.paths.scene_sog.is_file()
    assert (project.root / rec.outputs["quality"]).is_file()
    assert any(isinstance(e, Progress) and e.stage == "compress" for e in events)


def test_compress_ply_writes_an_unbundled_sog_folder_when_asked(project, tmp_path):
    from app.pipeline.compress.compress_ply import compress_ply
    from app.pipeline.compress.settings import CompressSettings

    report = compress_ply(project.paths.splats_ply, tmp_path / "out", CompressSettings(bundle=False),
                          emit=lambda e: None, cancel=None, georef=GEO)
    folder = tmp_path / "out" / "scene"
    assert report["output"] == str(folder / "meta.json")
    assert {"meta.json", "means_l.webp", "shN_labels.webp", "quality.json", "georef.json"} <= {
        p.name for p in folder.iterdir()}


def test_errors_of_large_exports_are_measured_on_a_sample(project, monkeypatch):
    import app.pipeline.export as export_module

    full = export_project(project, "spz", project.paths.exports / "full.spz")
    monkeypatch.setattr(export_module, "ERROR_SAMPLE", 1000)
    sampled = export_project(project, "spz", project.paths.exports / "sampled.spz")
    assert (full["errors_of_every_nth_splat"], sampled["errors_of_every_nth_splat"]) == (1, 3)
    assert sampled["errors"]["log_scale"]["mean"] == pytest.approx(
        full["errors"]["log_scale"]["mean"], rel=0.2)


def test_an_unreferenced_sfm_model_gives_no_georeference(tmp_path):
    from app.pipeline.export import read_georef

    (tmp_path / "geo.json").write_text(json.dumps({"georeferenced": False, "origin": None}))
    assert read_georef(tmp_path / "geo.json") is None
    origin = {"lat": 46.8, "lon": -91.9, "alt": 160.0}
    (tmp_path / "geo.json").write_text(json.dumps({"georeferenced": True, "origin": origin}))
    assert read_georef(tmp_path / "geo.json")["origin"] == origin
