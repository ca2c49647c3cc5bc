"""The compress stage after cloud training: it takes a chained cloud SOG, or fetches the PLY from S3."""

from __future__ import annotations

import json
import time

from app.pipeline.cloud.offload import train_in_cloud
from app.pipeline.compress.stage import CompressStage
from app.pipeline.events import Event, Log
from app.pipeline.project_export import export_project
from app.pipeline.runner import Runner
from app.pipeline.stage import StageContext
from app.pipeline.stages import fetch_cloud_splats
from cloud_moto import (MotoAws, aws, cloud_settings, handoff_project, join_ok,  # noqa: F401
                        moto_server, ply_bytes)


def _play(aws: MotoAws, ply: bytes, tmp_path, *, compress: bool) -> None:
    """SageMaker's part: the training job ends with a PLY; the chained compression job runs our
    real container entrypoint on it (or fails)."""
    name = aws.wait_for_job("spaceport-train-")
    aws.complete(name, {"splats.ply": ply}, {"summary.json": b'{"splats": "splats.ply", '
                                                            b'"num_gaussians": 3000}'})
    cname = aws.wait_for_job("spaceport-compress-")
    if compress:
        assert aws.run_container(cname, tmp_path / "ml") == 0
    else:
        aws.set_state(cname, "Failed", "Failed", failure="ClientError: out of disk")


def _train_in_cloud(aws: MotoAws, project, tmp_path, *, compress: bool) -> None:
    """A cloud training (compression chained) recorded as the project's done train stage."""
    cloud_settings(project, compress_where="cloud")
    script = aws.in_background(lambda: _play(aws, ply_bytes(3000), tmp_path, compress=compress))
    outputs = train_in_cloud(StageContext(project=project, emit=lambda e: None, stage="train",
                                          approve_cost=lambda e: True))
    join_ok(script, timeout=120)
    record = project.record("train")
    record.state, record.run_id, record.outputs = "done", "train-run-1", outputs
    project.save()


def _compress(project) -> tuple[dict, list[Event]]:
    events: list[Event] = []
    with project:
        assert Runner(project, [CompressStage(fetch_splats=fetch_cloud_splats)], emit=events.append).run()
    return project.record("compress").outputs, events


def test_the_stage_takes_the_sog_of_a_chained_cloud_compression_without_the_ply(aws, handoff_project,
                                                                                tmp_path):
    project = handoff_project
    _train_in_cloud(aws, project, tmp_path, compress=True)
    sog = project.paths.scene_sog
    made = sog.stat().st_mtime_ns
    time.sleep(0.01)
    outputs, events = _compress(project)
    assert outputs["scene"] == "compress/scene.sog" and outputs["splats"] == 3000
    assert sog.stat().st_mtime_ns == made and not project.paths.splats_ply.exists()
    assert outputs["bytes"] == sog.stat().st_size and outputs["position_error_mm"] < 1.0
    assert any(isinstance(e, Log) and "the compression the cloud job made" in e.text for e in events)

    project.settings.compress.sh_palette_size = 64  # the cloud SOG no longer matches: compress here
    project.save()
    outputs, _ = _compress(project)
    assert project.paths.splats_ply.is_file() and sog.stat().st_mtime_ns != made
    quality = json.loads((project.root / outputs["quality"]).read_text())
    assert outputs["splats"] == 3000 and quality["render"]["views"] == 1  # the hand-off's view 0


def test_a_failed_chain_fetches_the_ply_for_the_stage_and_for_export(aws, handoff_project, tmp_path):
    project = handoff_project
    project.settings.cloud.fetch_ply = False
    _train_in_cloud(aws, project, tmp_path, compress=False)
    project.paths.splats_ply.unlink()  # as if only the SOG had been asked for
    report = export_project(project, "splat", project.paths.exports / "s.splat", fetch_splats=fetch_cloud_splats)
    assert report["splats"]["written"] == 3000 and project.paths.splats_ply.is_file()
    project.paths.splats_ply.unlink()
    outputs, _ = _compress(project)
    assert outputs["splats"] == 3000 and project.paths.scene_sog.is_file()
