"""End to end: our real container entrypoint run as the SageMaker job, behind moto's APIs.

The harness plays SageMaker (fetch channels, run `packaging/sagemaker/train train` on CPU, stream
stdout to CloudWatch, tar /opt/ml/model to S3); the offload client sees only the AWS APIs.
Skipped until the training (and compression) code is merged.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from app.pipeline.cloud.offload import cloud_compress_outputs, train_in_cloud
from app.pipeline.events import Event, TrainMetrics
from app.pipeline.stage import StageContext
from cloud_moto import (SECRET_KEY, BUCKET, COMPRESS_IMAGE, REGION, ROLE, TRAIN_IMAGE, aws,  # noqa: F401
                        handoff_project, join_ok, moto_server)

HAS_TRAINER = importlib.util.find_spec("app.pipeline.train.trainer") is not None
HAS_COMPRESSOR = importlib.util.find_spec("app.pipeline.compress.compress_ply") is not None
TINY_TRAIN = {"max_steps": "20", "min_points": "10", "metrics_every": "5", "eval_every_n_image": "0",
              "checkpoint_every": "10", "preview_every": "0", "cpu_max_side": "96", "sh_degree": "1",
              "device": "cpu"}

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not HAS_TRAINER, reason="app.pipeline.train.trainer not merged yet")]


def _play(aws, tmp_path, chained: bool) -> None:
    name = aws.wait_for_job("spaceport-train-")
    assert aws.run_container(name, tmp_path / "ml-train") == 0
    if chained:
        cname = aws.wait_for_job("spaceport-compress-")
        assert aws.run_container(cname, tmp_path / "ml-compress") == 0


def test_the_real_container_trains_as_a_sagemaker_job_and_its_metrics_stream_back(aws, handoff_project, tmp_path):
    project = handoff_project
    for key, value in TINY_TRAIN.items():
        project.settings.set(f"train.{key}", value)
    project.settings.cloud.compress_where = "cloud" if HAS_COMPRESSOR else "local"
    project.save()
    events: list[Event] = []
    script = aws.in_background(lambda: _play(aws, tmp_path, HAS_COMPRESSOR))
    outputs = train_in_cloud(StageContext(project=project, emit=events.append, stage="train"))
    join_ok(script, timeout=600)
    steps = [e.step for e in events if isinstance(e, TrainMetrics)]
    assert steps and steps[-1] == 20 and steps == sorted(steps)
    assert project.paths.train_metrics.exists() and outputs["num_gaussians"] > 0
    if HAS_COMPRESSOR:
        assert project.paths.scene_sog.stat().st_size > 0 and not project.paths.splats_ply.exists()
        project.record("train").outputs = outputs
        taken = cloud_compress_outputs(project)  # what the compress stage then takes
        assert taken is not None and Path(taken["report"]["output"]).exists()
    else:
        assert project.paths.splats_ply.stat().st_size > 0


@pytest.mark.skipif(not HAS_TRAINER, reason="train stage not registered yet")
def test_process_train_on_cloud_from_the_cli_runs_the_job_and_cloud_status_lists_it(aws, sample_flight, tmp_path,
                                                                                   capsys):
    from app.cli import main
    from app.pipeline.stages import default_stages

    if "train" not in [s.name for s in default_stages()]:
        pytest.skip("train stage not registered yet")
    project = tmp_path / "project"
    sets = [f"cloud.bucket={BUCKET}", f"cloud.role_arn={ROLE}", f"cloud.train_image={TRAIN_IMAGE}",
            f"cloud.compress_image={COMPRESS_IMAGE}", f"cloud.region={REGION}", "cloud.poll_s=0.2",
            "cloud.tail_s=0.1", "cloud.compress_where=local"] + [f"train.{k}={v}" for k, v in TINY_TRAIN.items()]
    args = ["process", str(sample_flight), "-o", str(project), "--train-on", "cloud", "--until", "train"]
    for item in sets:
        args += ["--set", item]
    script = aws.in_background(lambda: _play(aws, tmp_path, chained=False))
    assert main(args) == 0
    join_ok(script, timeout=600)
    assert (project / "train" / "splats.ply").stat().st_size > 0
    capsys.readouterr()
    assert main(["cloud", "status", str(project)]) == 0
    out = capsys.readouterr().out
    assert "Completed" in out and SECRET_KEY not in out
