"""End to end: our real container entrypoint run as the SageMaker job, behind moto's APIs.

The harness plays SageMaker (fetch channels, run `packaging/sagemaker/train train` on CPU, stream
stdout to CloudWatch, tar /opt/ml/model to S3); the offload client sees only the AWS APIs.
"""

from __future__ import annotations

import pytest

from app.pipeline.cloud.offload import train_in_cloud
from app.pipeline.compress.prebuilt import usable_prebuilt
from app.pipeline.events import Event, TrainMetrics
from app.pipeline.stage import StageContext
from cloud_moto import (SECRET_KEY, BUCKET, COMPRESS_IMAGE, REGION, ROLE, TRAIN_IMAGE, aws,  # noqa: F401
                        handoff_project, join_ok, moto_server)

TINY_TRAIN = {"max_steps": "20", "min_points": "10", "metrics_every": "5", "eval_every_n_image": "0",
              "checkpoint_every": "10", "preview_every": "0", "cpu_max_side": "96", "sh_degree": "1",
              "device": "cpu"}

pytestmark = pytest.mark.slow


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
    project.settings.cloud.compress_where = "cloud"
    project.save()
    events: list[Event] = []
    script = aws.in_background(lambda: _play(aws, tmp_path, chained=True))
    outputs = train_in_cloud(StageContext(project=project, emit=events.append, stage="train",
                                          approve_cost=lambda e: True))
    join_ok(script, timeout=600)
    steps = [e.step for e in events if isinstance(e, TrainMetrics)]
    assert steps and steps[-1] == 20 and steps == sorted(steps)
    assert project.paths.train_metrics.exists() and outputs["num_gaussians"] > 0
    assert project.paths.scene_sog.stat().st_size > 0 and not project.paths.splats_ply.exists()
    taken = usable_prebuilt(project.paths.compress, outputs["cloud"]["train_job"], project.settings.compress)
    assert taken is not None and (project.paths.compress / taken.report["output"]).exists()


def test_process_train_on_cloud_from_the_cli_runs_the_job_and_cloud_status_lists_it(aws, sample_flight, tmp_path,
                                                                                   capsys):
    from app.cli import main

    project = tmp_path / "project"
    sets = [f"cloud.bucket={BUCKET}", f"cloud.role_arn={ROLE}", f"cloud.train_image={TRAIN_IMAGE}",
            f"cloud.compress_image={COMPRESS_IMAGE}", f"cloud.region={REGION}", "cloud.poll_s=0.2",
            "cloud.tail_s=0.1", "cloud.compress_where=local"] + [f"train.{k}={v}" for k, v in TINY_TRAIN.items()]
    args = ["process", str(sample_flight), "-o", str(project), "--train-on", "cloud", "--until", "train",
            "--yes"]
    for item in sets:
        args += ["--set", item]
    script = aws.in_background(lambda: _play(aws, tmp_path, chained=False))
    assert main(args) == 0
    join_ok(script, timeout=600)
    assert (project / "train" / "splats.ply").stat().st_size > 0
    err = capsys.readouterr().err
    assert err.count("Cloud offload estimate") == 1  # asked once, before ingest, though checked at launch too
    assert err.index("Cloud offload estimate") < err.index("[ingest]")
    assert main(["cloud", "status", str(project)]) == 0
    out = capsys.readouterr().out
    assert "Completed" in out and SECRET_KEY not in out
