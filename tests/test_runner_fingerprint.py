"""What makes a finished stage stale: only settings that change its result, and for training the
run they resolve to (a CPU preview, or full training on a GPU here or in the cloud)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.pipeline.hardware import GpuInfo
from app.pipeline.project import Project
from app.pipeline.runner import Runner
from app.pipeline.stage import Stage
from app.pipeline.train.stage import TrainStage

A10G = GpuInfo(0, "NVIDIA A10G", (8, 6), 22.0)


class Done(Stage):
    """A stage that only takes part in fingerprints (sfm before train, compress after it)."""

    def __init__(self, name: str, upstream: tuple[str, ...] = ()) -> None:
        self.name, self.upstream = name, upstream


def finished(tmp_path: Path, gpus: list[GpuInfo], **train) -> tuple[Project, Runner]:
    """A project whose sfm, train and compress stages are done for these settings and GPUs."""
    (tmp_path / "flight").mkdir(parents=True)
    project = Project.open(tmp_path / "p", source=tmp_path / "flight")
    for key, value in train.items():
        setattr(project.settings.train, key, value)
    runner = Runner(project, [Done("sfm"), TrainStage(detect=lambda: gpus), Done("compress", ("train",))],
                    emit=lambda e: None)
    for stage in runner.stages:
        record = project.record(stage.name)
        record.state, record.run_id = "done", f"{stage.name}-1"
        record.basis = runner.basis(stage)  # as the runner keeps it when the stage starts
        record.fingerprint = runner.fingerprint(stage)
    project.save()
    return project, runner


def to_rerun(runner: Runner) -> list[str]:
    """The stages the next run would execute."""
    runner.refresh_states()
    return [s.name for s in runner.plan()]


def configure_cloud(project: Project) -> None:
    cloud = project.settings.cloud
    cloud.bucket, cloud.role_arn = "b", "arn:aws:iam::123456789012:role/r"
    cloud.train_image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/spaceport-train:1"


@pytest.mark.parametrize("section, key, value", [
    ("train", "metrics_every", 5), ("train", "preview_every", 3), ("train", "eval_every", 7),
    ("train", "checkpoint_every", 10), ("train", "checkpoint_every_s", 1.0),
    ("train", "preview_max_gaussians", 10), ("cloud", "poll_s", 30.0), ("cloud", "tail_s", 5.0),
    ("compress", "render_budget_s", 5.0)])
def test_cadence_and_polling_settings_leave_train_and_compress_done(tmp_path, section, key, value):
    project, runner = finished(tmp_path, [A10G])
    setattr(project.settings.section(section), key, value)
    assert to_rerun(runner) == []


@pytest.mark.parametrize("key, value", [("lr_means", 1e-3), ("sh_degree", 2), ("strategy", "mcmc"),
                                        ("eval_every_n_image", 4)])
def test_a_setting_that_changes_the_splats_makes_train_and_compress_stale(tmp_path, key, value):
    project, runner = finished(tmp_path, [A10G])
    setattr(project.settings.train, key, value)
    assert to_rerun(runner) == ["train", "compress"]


def test_a_cpu_preview_is_upgraded_when_the_cloud_becomes_where_training_resolves(tmp_path):
    project, runner = finished(tmp_path, [])  # no GPU, no cloud: a CPU preview was trained
    configure_cloud(project)  # train.where is still auto: it now resolves to the cloud
    assert to_rerun(runner) == ["train", "compress"]
    assert project.record("train").reason.startswith("resolved run.kind cpu_preview -> full; ")
    assert project.record("compress").reason == "an upstream stage changed"


def test_a_stale_stage_says_which_setting_changed_and_from_what_to_what(tmp_path):
    project, runner = finished(tmp_path, [A10G])
    project.settings.train.lr_means = 1e-3
    project.settings.train.sh_degree = 2
    runner.refresh_states()
    assert project.record("train").reason == "train.lr_means 0.00016 -> 0.001; train.sh_degree 3 -> 2"


def test_a_record_from_before_bases_were_kept_still_goes_stale_with_a_general_reason(tmp_path):
    project, runner = finished(tmp_path, [A10G])
    project.record("train").basis = {}
    project.settings.train.sh_degree = 2
    runner.refresh_states()
    assert project.record("train").reason == "its settings or inputs changed"


@pytest.mark.parametrize("before, after", [("local", "cloud"), ("cloud", "local"), ("auto", "cloud")])
def test_switching_between_places_that_resolve_to_the_same_full_training_keeps_it(tmp_path, before, after):
    project, runner = finished(tmp_path, [A10G], where=before, preset="standard")
    if before == "cloud":
        configure_cloud(project)
    for stage in runner.stages:  # done as configured before the switch
        project.record(stage.name).fingerprint = runner.fingerprint(stage)
    configure_cloud(project)
    project.settings.train.where = after
    assert to_rerun(runner) == []


def test_a_full_run_on_a_gpu_and_a_cpu_preview_differ(tmp_path):
    project, runner = finished(tmp_path, [A10G], where="local")
    project.settings.train.device = "cpu"  # the same project, resolved to a CPU preview now
    assert to_rerun(runner) == ["train", "compress"]


def test_preview_limits_count_only_for_a_cpu_preview(tmp_path):
    project, runner = finished(tmp_path, [A10G])
    project.settings.train.cpu_max_steps = 200
    project.settings.train.cpu_max_side = 64
    assert to_rerun(runner) == []  # a full GPU run ignores the CPU preview's limits
    project, runner = finished(tmp_path / "cpu", [])
    project.settings.train.cpu_max_steps = 200
    assert to_rerun(runner) == ["train", "compress"]


def test_the_preset_counts_through_the_steps_it_resolves_to(tmp_path):
    project, runner = finished(tmp_path, [])  # CPU preview: capped at cpu_max_steps either way
    project.settings.train.preset = "standard"
    assert to_rerun(runner) == []
    project, runner = finished(tmp_path / "gpu", [A10G])
    project.settings.train.preset = "standard"  # 7000 -> 30000 steps on the GPU
    assert to_rerun(runner) == ["train", "compress"]
