"""The whole cloud offload against moto's server, with SageMaker's states driven by hand."""

from __future__ import annotations

import json
import time

import pytest

from app.pipeline.cloud.control import fetch_splats, job_records
from app.pipeline.cloud.logs import format_event
from app.pipeline.cloud.offload import train_in_cloud
from app.pipeline.cloud.records import JobBook
from app.pipeline.compress.prebuilt import usable_prebuilt
from app.pipeline.errors import Detached, StageError
from app.pipeline.events import CloudJobStatus, Event, Log, PreviewSnapshot, TrainMetrics
from app.pipeline.project import Project
from app.pipeline.stage import StageContext
from cloud_moto import (ACCESS_KEY, BUCKET, SECRET_KEY, MotoAws, aws, cloud_settings,  # noqa: F401
                        handoff_project, join_ok,
                        moto_server, ply_bytes)

GEO = json.dumps({"origin": {"lat": 50.82, "lon": -0.14, "alt": 10.0}, "crs": "ENU"}).encode()


def _ctx(project: Project, events: list[Event]) -> StageContext:
    return StageContext(project=project, emit=events.append, stage="train", approve_cost=lambda e: True)


def _metrics_lines(steps: tuple[int, ...], total: int = 100) -> list[str]:
    return [format_event(TrainMetrics(stage="train", step=s, total_steps=total, loss=1.0 / s,
                                      psnr=20.0 + s / 10, num_gaussians=1000 + s)) for s in steps]


def _train_outputs(ply: bytes) -> tuple[dict[str, bytes], dict[str, bytes]]:
    metrics = b"".join(json.dumps({"step": s, "loss": 1.0 / s}).encode() + b"\n" for s in (10, 20))
    return ({"splats.ply": ply, "geo.json": GEO},
            {"metrics.jsonl": metrics, "summary.json": json.dumps(
                {"splats": "splats.ply", "metrics": "metrics.jsonl", "num_gaussians": 50, "steps": 20}).encode()})


def _play_training(aws: MotoAws, ply: bytes, *, then_compress: bool) -> None:
    name = aws.wait_for_job("spaceport-train-")
    aws.set_state(name, "InProgress", "Downloading")
    time.sleep(0.3)
    aws.set_state(name, "InProgress", "Training")
    snapshot = PreviewSnapshot(stage="train", path="/opt/ml/output/work/preview.ply", step=10)
    aws.put_logs(name, _metrics_lines((10, 20)) + ["a line that is not an event", format_event(snapshot)])
    time.sleep(0.4)
    aws.complete(name, *_train_outputs(ply))
    if then_compress:
        cname = aws.wait_for_job("spaceport-compress-")
        aws.set_state(cname, "InProgress", "Training")
        time.sleep(0.3)
        report = {"output": "scene.sog", "bytes": 16, "splats": {"written": 50}}  # relative, as the container writes it
        aws.complete(cname, {"scene.sog": b"SOG bundle bytes", "compress_report.json": json.dumps(report).encode()})


def test_cloud_training_goes_through_its_states_and_chains_compression_in_the_cloud(aws, handoff_project):
    project = handoff_project
    cloud_settings(project, compress_where="cloud")
    events: list[Event] = []
    ply = ply_bytes()
    script = aws.in_background(lambda: _play_training(aws, ply, then_compress=True))
    outputs = train_in_cloud(_ctx(project, events))
    join_ok(script)

    train_job = outputs["cloud"]["train_job"]
    statuses = [(e.job_name, e.secondary_status) for e in events if isinstance(e, CloudJobStatus)]
    assert (train_job, "Training") in statuses and (train_job, "Completed") in statuses
    assert [e.step for e in events if isinstance(e, TrainMetrics)] == [10, 20]
    assert not any(isinstance(e, PreviewSnapshot) for e in events)  # a path on the remote machine
    assert [j.status for j in job_records(project)] == ["Completed", "Completed"]
    assert project.paths.scene_sog.read_bytes() == b"SOG bundle bytes"
    assert not project.paths.splats_ply.exists()  # no round trip of the uncompressed model
    assert project.paths.train_metrics.exists() and outputs["num_gaussians"] == 50 and outputs["steps"] == 20
    assert outputs["splats"] is None  # stays in S3 (outputs["cloud"]["splats_s3"]) unless asked for
    assert outputs["scene_sog"] == "compress/scene.sog"

    job = aws.job(train_job)
    assert job.resource_config["InstanceType"] == "ml.g5.xlarge"
    channel = job.input_data_config[0]
    assert channel["ChannelName"] == "sfm"
    uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
    assert uri.startswith(f"s3://{BUCKET}/spaceport/") and uri.endswith("/")
    assert job.hyper_parameters["stage"] == "train"
    assert json.loads(job.hyper_parameters["settings"])["preset"] == project.settings.train.preset
    assert all(isinstance(v, str) for v in job.hyper_parameters.values())
    assert job.checkpoint_config == {"S3Uri": job.checkpoint_config["S3Uri"], "LocalPath": "/opt/ml/checkpoints"}
    assert job.checkpoint_config["S3Uri"].startswith(f"s3://{BUCKET}/spaceport/")
    assert job.enable_managed_spot_training is False
    assert job.stopping_condition == {"MaxRuntimeInSeconds": 4 * 3600}

    cjob = aws.job(outputs["cloud"]["compress_job"])
    assert cjob.resource_config["InstanceType"] == "ml.g4dn.xlarge"
    assert cjob.input_data_config[0]["ChannelName"] == "model"
    assert cjob.input_data_config[0]["DataSource"]["S3DataSource"]["S3Uri"] == job.model_artifacts["S3ModelArtifacts"]
    assert cjob.hyper_parameters["stage"] == "compress"

    bucket, _, prefix = uri[5:].partition("/")
    keys = [o["Key"] for o in aws.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    assert {k.rsplit("/", 2)[-2] for k in keys} >= {"sparse", "images"} and any(k.endswith("geo.json") for k in keys)
    assert all(aws.s3.head_object(Bucket=bucket, Key=k)["ServerSideEncryption"] == "AES256" for k in keys)

    # the compress stage takes the cloud result while nothing changed, and not after a settings change
    taken = usable_prebuilt(project.paths.compress, train_job, project.settings.compress)
    assert taken is not None and taken.made_from == train_job and set(taken.files) == {"scene.sog",
                                                                                      "compress_report.json"}
    assert taken.report["output"] == "scene.sog" and taken.report["bytes"] == 16
    project.settings.compress.render_budget_s = 5.0  # a cadence setting: the result still holds
    assert usable_prebuilt(project.paths.compress, train_job, project.settings.compress) is not None
    project.settings.compress.sh_palette_size = 1024
    assert usable_prebuilt(project.paths.compress, train_job, project.settings.compress) is None
    project.record("train").outputs = outputs
    assert fetch_splats(project, events.append).read_bytes() == ply  # PLY on demand for local compression

    written = b"".join(p.read_bytes() for p in project.root.rglob("*") if p.is_file())
    shown = "".join(json.dumps(e.to_dict(), default=str) for e in events)
    for secret in (ACCESS_KEY, SECRET_KEY):
        assert secret.encode() not in written and secret not in shown


def test_spot_training_sets_max_wait_and_local_compression_downloads_the_ply(aws, handoff_project):
    project = handoff_project
    cloud_settings(project, spot=True, compress_where="local", max_runtime_s=3600, max_wait_s=600)
    ply = ply_bytes()
    script = aws.in_background(lambda: _play_training(aws, ply, then_compress=False))
    outputs = train_in_cloud(_ctx(project, []))
    join_ok(script)
    job = aws.job(outputs["cloud"]["train_job"])
    assert job.enable_managed_spot_training is True
    assert job.stopping_condition["MaxWaitTimeInSeconds"] > job.stopping_condition["MaxRuntimeInSeconds"]
    assert project.paths.splats_ply.read_bytes() == ply
    assert outputs["splats"] == "train/splats.ply" and "compress_job" not in outputs["cloud"]
    assert outputs["metrics"] == "train/metrics.jsonl"
    assert outputs["device"] == "an unreported device on ml.g5.xlarge"  # summary.json names none
    assert [n for n in aws.backend().training_jobs if n.startswith("spaceport-compress-")] == []


def test_a_failed_chained_compression_leaves_the_training_and_compresses_here(aws, handoff_project):
    project = handoff_project
    cloud_settings(project, compress_where="cloud")
    ply = ply_bytes()
    events: list[Event] = []

    def train_then_fail_compression() -> None:
        _play_training(aws, ply, then_compress=False)
        cname = aws.wait_for_job("spaceport-compress-")
        aws.set_state(cname, "Failed", "Failed", failure="ClientError: out of disk")

    script = aws.in_background(train_then_fail_compression)
    outputs = train_in_cloud(_ctx(project, events))
    join_ok(script)
    assert project.paths.splats_ply.read_bytes() == ply and "scene_sog" not in outputs
    assert any("out of disk" in e.text for e in events if isinstance(e, Log) and e.level == "warning")
    assert usable_prebuilt(project.paths.compress, outputs["cloud"]["train_job"], project.settings.compress) is None


def test_a_failed_job_shows_its_failure_reason_and_a_rerun_launches_a_new_attempt(aws, handoff_project):
    project = handoff_project

    def fail() -> None:
        name = aws.wait_for_job("spaceport-train-")
        aws.set_state(name, "InProgress", "Training")
        time.sleep(0.2)
        aws.set_state(name, "Failed", "Failed", failure="AlgorithmError: CUDA out of memory")

    script = aws.in_background(fail)
    with pytest.raises(StageError, match="CUDA out of memory"):
        train_in_cloud(_ctx(project, []))
    join_ok(script)
    first = aws.wait_for_job("spaceport-train-")
    assert first.endswith("-a1") and JobBook.load(project.paths.cloud_jobs).jobs[0].status == "Failed"

    ply = ply_bytes()

    def succeed() -> None:
        name = aws.wait_for_job("spaceport-train-", exclude=(first,))
        aws.complete(name, *_train_outputs(ply))

    script = aws.in_background(succeed)
    cloud_settings(project, compress_where="local")
    outputs = train_in_cloud(_ctx(project, []))
    join_ok(script)
    assert outputs["cloud"]["train_job"] == first[:-1] + "2"
    second = aws.job(outputs["cloud"]["train_job"])
    assert second.checkpoint_config == aws.job(first).checkpoint_config  # resumes from checkpoints


def test_cancel_detaches_the_job_runs_on_and_a_later_run_follows_it_to_the_end(aws, handoff_project):
    project = handoff_project
    cloud_settings(project, compress_where="local")
    events: list[Event] = []
    ctx = _ctx(project, events)

    def run_then_cancel() -> None:
        name = aws.wait_for_job("spaceport-train-")
        aws.set_state(name, "InProgress", "Training")
        aws.put_logs(name, _metrics_lines((10,)))
        time.sleep(0.4)
        ctx.cancel.cancel()

    script = aws.in_background(run_then_cancel)
    with pytest.raises(Detached) as detached:
        train_in_cloud(ctx)
    join_ok(script)
    name = aws.wait_for_job("spaceport-train-")
    assert detached.value.job_name == name and "runs on" in detached.value.hint
    assert aws.stop_calls == [] and aws.job(name).training_job_status == "InProgress"
    record = JobBook.load(project.paths.cloud_jobs).jobs[-1]
    assert (record.name, record.status, record.active) == (name, "InProgress", True)
    assert any(isinstance(e, Log) and "runs on" in e.text for e in events)

    ply = ply_bytes()
    script = aws.in_background(lambda: (time.sleep(0.3), aws.complete(name, *_train_outputs(ply))))
    outputs = train_in_cloud(_ctx(Project.open(project.root, create=False), []))
    join_ok(script)
    assert outputs["cloud"]["train_job"] == name and list(aws.backend().training_jobs) == [name]
    assert project.paths.splats_ply.read_bytes() == ply and aws.stop_calls == []


def test_spot_capacity_timeout_is_a_failure_with_a_hint(aws, handoff_project):
    project = handoff_project
    cloud_settings(project, spot=True)

    def no_capacity() -> None:
        name = aws.wait_for_job("spaceport-train-")
        aws.set_state(name, "Stopped", "MaxWaitTimeExceeded")

    script = aws.in_background(no_capacity)
    with pytest.raises(StageError, match="no capacity") as err:
        train_in_cloud(_ctx(project, []))
    join_ok(script)
    assert "cloud.spot=false" in err.value.hint


class AppClosed(BaseException):
    """The desktop app going away mid-job (not an error the stage would catch)."""


def test_a_restarted_app_resumes_tracking_the_same_job_without_launching_again(aws, handoff_project):
    project = handoff_project
    cloud_settings(project, compress_where="local")

    def close_at_step_15(event: Event) -> None:
        if isinstance(event, TrainMetrics) and event.step == 15:
            raise AppClosed()

    def first_half() -> None:
        name = aws.wait_for_job("spaceport-train-")
        aws.set_state(name, "InProgress", "Training")
        aws.put_logs(name, _metrics_lines((10,)))
        time.sleep(0.4)
        aws.put_logs(name, _metrics_lines((15,)))

    script = aws.in_background(first_half)
    with pytest.raises(AppClosed):
        train_in_cloud(StageContext(project=project, emit=close_at_step_15, stage="train",
                                    approve_cost=lambda e: True))
    join_ok(script)
    name = aws.wait_for_job("spaceport-train-")

    reopened = Project.open(project.root, create=False)  # a new process reads the project back
    events: list[Event] = []
    ply = ply_bytes()

    def second_half() -> None:
        time.sleep(0.3)
        aws.put_logs(name, _metrics_lines((20,)))
        time.sleep(0.3)
        aws.complete(name, *_train_outputs(ply))

    script = aws.in_background(second_half)
    outputs = train_in_cloud(_ctx(reopened, events))
    join_ok(script)
    assert outputs["cloud"]["train_job"] == name
    assert [n for n in aws.backend().training_jobs] == [name]
    # forward tokens were kept: step 10 is not replayed; 15 is, as the app died while handling it
    assert [e.step for e in events if isinstance(e, TrainMetrics)] == [15, 20]
    assert reopened.paths.splats_ply.read_bytes() == ply


@pytest.mark.parametrize("job_was_created", [False, True])
def test_a_crash_between_recording_and_launching_launches_once(aws, handoff_project, job_was_created):
    project = handoff_project
    cloud_settings(project, compress_where="local")
    ply = ply_bytes()
    existing = {}

    def launch_only(event: Event) -> None:  # the app goes away right after launching
        if isinstance(event, CloudJobStatus) and event.message == "launched":
            raise AppClosed()

    script = aws.in_background(lambda: existing.setdefault("name", aws.wait_for_job("spaceport-train-")))
    with pytest.raises(AppClosed):
        train_in_cloud(StageContext(project=project, emit=launch_only, stage="train",
                                    approve_cost=lambda e: True))
    join_ok(script)
    name = existing["name"]
    book = JobBook.load(project.paths.cloud_jobs)
    book.update(book.jobs[0], status="Creating", secondary_status="")  # as if we died before the update
    if not job_was_created:
        del aws.backend().training_jobs[name]
    first = aws.backend().training_jobs.get(name)

    def finish() -> None:
        aws.wait_for_job("spaceport-train-")
        aws.complete(name, *_train_outputs(ply))

    script = aws.in_background(finish)
    outputs = train_in_cloud(_ctx(Project.open(project.root, create=False), []))
    join_ok(script)
    assert outputs["cloud"]["train_job"] == name and list(aws.backend().training_jobs) == [name]
    if job_was_created:
        assert aws.job(name) is first  # found by its name, not created again


def test_without_a_summary_the_gaussian_count_and_device_are_unknown_not_invented(aws, handoff_project):
    project = handoff_project
    events: list[Event] = []
    ply = ply_bytes()

    def complete_without_summary() -> None:
        name = aws.wait_for_job("spaceport-train-")
        aws.complete(name, {"splats.ply": ply}, {"metrics.jsonl": b""})  # no summary.json, no metrics logged

    script = aws.in_background(complete_without_summary)
    outputs = train_in_cloud(_ctx(project, events))
    join_ok(script)
    assert outputs["num_gaussians"] is None and outputs["device"] == "an unreported device on ml.g5.xlarge"
    placement = next(e.text for e in events if isinstance(e, Log) and e.text.startswith("compression runs"))
    assert "here" in placement and "unknown" in placement
    assert project.paths.splats_ply.read_bytes() == ply  # compressed here: the PLY came home


@pytest.mark.parametrize("kind", ["train", "compress"])
def test_preflight_follows_a_running_job_of_either_kind_without_asking(aws, handoff_project,
                                                                       kind):
    from app.pipeline.cloud.offload import CloudRun
    from app.pipeline.cloud.records import JobRecord

    project = handoff_project
    book = JobBook.load(project.paths.cloud_jobs)
    book.add(JobRecord(kind="train", name="spaceport-train-k-a1", key="k", status="Completed"))
    if kind == "compress":  # a chained compression of that training, still going
        book.add(JobRecord(kind="compress", name="spaceport-compress-c-a1", key="c",
                           status="InProgress"))
    else:
        book.update(book.jobs[0], status="InProgress")
    events: list[Event] = []

    def asked(estimate) -> bool:
        raise AssertionError("following a job costs nothing new: nothing to approve")

    CloudRun(project, events.append, approve_cost=asked).preflight()
    name = "spaceport-compress-c-a1" if kind == "compress" else "spaceport-train-k-a1"
    assert f"SageMaker {kind} job {name} is still running: following it" in [
        e.text for e in events if isinstance(e, Log)][-1]
