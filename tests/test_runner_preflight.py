"""A run checks everything that needs no stage output before its first stage starts: where
training runs (cloud configured, the GPU it insists on), the cloud's cost approval, disk space."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from app.cli import main
from app.pipeline.project import Project, ProjectPaths


@pytest.fixture
def flight(tmp_path: Path) -> Path:
    """A flight folder ingest would refuse (no images): reaching ingest fails the test differently."""
    folder = tmp_path / "flight"
    folder.mkdir()
    return folder


def record(project: Path, stage: str) -> dict:
    return json.loads(ProjectPaths(project).project_json.read_text())["stages"].get(stage, {})


def test_training_forced_to_an_unconfigured_cloud_fails_before_ingest(tmp_path, flight, capsys):
    project = tmp_path / "p"
    assert main(["process", str(flight), "-o", str(project), "--train-on", "cloud"]) == 1
    assert record(project, "ingest").get("state", "pending") == "pending"
    assert not ProjectPaths(project).ingest.exists()
    train = record(project, "train")
    assert (train["state"], train["action"]) == ("failed", "configure_cloud")
    err = capsys.readouterr().err
    assert "no cloud is configured" in err and "next: set the cloud settings with --set" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has the CUDA GPU the run asks for")
def test_a_cuda_device_without_a_gpu_fails_before_ingest(tmp_path, flight, capsys):
    project = tmp_path / "p"
    assert main(["process", str(flight), "-o", str(project), "--train-on", "local",
                 "--set", "train.device=cuda"]) == 1
    assert record(project, "ingest").get("state", "pending") == "pending"
    assert "no CUDA GPU is visible" in record(project, "train")["reason"]


def test_a_run_that_cannot_fit_on_the_disk_fails_before_ingest(tmp_path, flight, capsys):
    project = tmp_path / "p"
    huge = str(10 ** 13)  # Gaussians: petabytes of checkpoints
    assert main(["process", str(flight), "-o", str(project), "--train-on", "local",
                 "--set", f"train.max_gaussians={huge}", "--set", f"train.cpu_max_gaussians={huge}"]) == 1
    assert record(project, "ingest").get("state", "pending") == "pending"
    train = record(project, "train")
    assert train["action"] == "free_disk" and "Not enough free disk space" in train["reason"]
    assert "GB are free" in capsys.readouterr().err


def test_a_disk_too_small_for_sfm_says_so_in_megabytes_without_blaming_training(
        tmp_path, flight, capsys, monkeypatch):
    import shutil

    from app.pipeline import runner

    for i in range(20):  # 20 flight files: SfM expects about 3 MB each
        (flight / f"IMG_{i:04d}.JPG").write_bytes(b"")
    disk = shutil.disk_usage(tmp_path)._replace(free=5 * 1024 ** 2)  # a disk with 5 MB left
    monkeypatch.setattr(runner.shutil, "disk_usage", lambda path: disk)
    assert main(["process", str(flight), "-o", str(tmp_path / "p"), "--until", "sfm"]) == 1
    sfm = record(tmp_path / "p", "sfm")
    assert "needs about 60 MB (sfm 60 MB), 5 MB are free" in sfm["reason"]
    assert "train.max_gaussians" not in sfm["hint"] + capsys.readouterr().err


def test_status_shows_each_stage_and_what_to_do_next(tmp_path, flight, capsys):
    project = tmp_path / "p"
    main(["process", str(flight), "-o", str(project), "--train-on", "cloud"])
    capsys.readouterr()
    assert main(["status", str(project)]) == 0
    out = capsys.readouterr().out
    assert "train      failed     Training was set to run in the cloud" in out
    assert "next: set the cloud settings" in out
    Project.open(project)  # still a loadable project


def test_the_disk_check_counts_sfm_by_the_flight_files(tmp_path, flight):
    from app.pipeline.sfm.stage import SfmStage

    for i in range(4):
        (flight / f"img{i}.jpg").write_bytes(b"jpeg")
    project = Project.open(tmp_path / "p", source=flight)
    assert SfmStage().expected_bytes(project) == 4 * 3 * 1024 * 1024
