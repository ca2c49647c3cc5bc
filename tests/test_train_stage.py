"""TrainStage in the runner: policy decision, project outputs, cancel and resume."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from app.pipeline.events import Log, StageFailed, StageFinished, StageStarted, TrainMetrics
from app.pipeline.formats.ply import read_ply
from app.pipeline.project import Project
from app.pipeline.runner import Runner
from app.pipeline.stage import CancelToken
from app.pipeline.train import checkpoint as ckpt_io
from app.pipeline.train.stage import TrainStage
from tests.train_scene import make_scene, quick_settings


@pytest.fixture
def project(tmp_path):
    (tmp_path / "flight").mkdir()
    project = Project.open(tmp_path / "proj", source=tmp_path / "flight")
    make_scene(tmp_path / "scene", n_views=6, n_points=150, width=48, height=36)
    shutil.copytree(tmp_path / "scene" / "sparse", project.paths.sfm_model)
    shutil.copytree(tmp_path / "scene" / "images", project.paths.sfm_images)
    project.settings.train = quick_settings(max_steps=40, where="local")
    sfm = project.record("sfm")
    sfm.state, sfm.run_id = "done", "sfm-run-1"
    project.save()
    return project


def run(project, stop_at=None):
    events, cancel = [], CancelToken()

    def emit(event):
        events.append(event)
        if stop_at and isinstance(event, TrainMetrics) and event.step >= stop_at:
            cancel.cancel()

    ok = Runner(project, [TrainStage()], emit, cancel=cancel).run()
    return ok, events


def test_the_stage_logs_its_decision_and_writes_project_outputs(project):
    ok, events = run(project)
    assert ok
    decision = next(e for e in events if isinstance(e, Log) and e.text.startswith("training local"))
    assert "chosen by the user" in decision.text and decision.level == "warning"
    outputs = next(e for e in events if isinstance(e, StageFinished)).outputs
    assert outputs["splats"] == "train/splats.ply" and outputs["metrics"] == "train/metrics.jsonl"
    assert len(read_ply(project.root / outputs["splats"])) == outputs["num_gaussians"]
    assert "Gaussians, held-out PSNR" in TrainStage().summary(outputs)


def test_a_cancelled_stage_resumes_from_its_checkpoint(project):
    ok, events = run(project, stop_at=20)
    assert not ok and any(isinstance(e, StageFailed) and e.cancelled for e in events)
    assert Project.open(project.root).record("train").state == "cancelled"
    ok, events = run(project)
    assert ok
    assert next(e for e in events if isinstance(e, StageStarted)).resumed
    assert any(isinstance(e, Log) and "resuming from the checkpoint at step 20" in e.text
               for e in events)


def test_a_new_sfm_result_discards_this_projects_old_checkpoint(project):
    run(project, stop_at=20)
    project.record("sfm").run_id = "sfm-run-2"
    project.settings.train = dataclasses.replace(project.settings.train, max_steps=40)
    ok, events = run(project)
    assert ok
    assert any(isinstance(e, Log) and "SfM model changed" in e.text for e in events)
    assert not ckpt_io.path_in(project.paths.checkpoints).exists()
