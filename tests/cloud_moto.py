"""Test harness for the cloud offload: moto's server on 127.0.0.1 and SageMaker driven by hand.

moto records training jobs but reports them Completed at once and has no StopTrainingJob; the
`aws` fixture makes new jobs start InProgress/Starting and adds the stop call, and `MotoAws`
plays SageMaker's part (state changes, container log lines, model.tar.gz/output.tar.gz in S3).
Import the fixtures into a test module: `from cloud_moto import aws, moto_server, handoff_project`.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest

ACCOUNT, REGION, BUCKET = "123456789012", "us-east-1", "spaceport-test"
TRAIN_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/spaceport-train:1"
COMPRESS_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/spaceport-compress:1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/spaceport-sagemaker"
STREAM = "algo-1-1764200000"
REPO = Path(__file__).resolve().parents[1]
ACCESS_KEY, SECRET_KEY = "AKIAFAKESPACEPORT01", "fake/Secret+Key/Never/Written/Anywhere0"


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's server in this process on a free loopback port; yields its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class MotoAws:
    """Plays SageMaker against moto's backend: job states, container logs and job outputs."""

    def __init__(self, url: str) -> None:
        import boto3

        self.url = url
        self.boto = boto3.Session(region_name=REGION)
        self.s3 = self.boto.client("s3")
        self.logs = self.boto.client("logs")

    def backend(self) -> Any:
        from moto.sagemaker.models import sagemaker_backends

        return sagemaker_backends[ACCOUNT][REGION]

    def job(self, name: str) -> Any:
        return self.backend().training_jobs[name]

    def wait_for_job(self, prefix: str = "spaceport-", timeout: float = 30.0, exclude: tuple = ()) -> str:
        """The name of the first job created whose name starts with `prefix` (not in `exclude`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name in list(self.backend().training_jobs):
                if name.startswith(prefix) and name not in exclude:
                    return name
            time.sleep(0.02)
        raise AssertionError(f"no job {prefix}* was created within {timeout} s")

    def set_state(self, name: str, status: str, secondary: str, failure: str | None = None) -> None:
        job = self.job(name)
        job.training_job_status, job.secondary_status = status, secondary
        if failure is not None:
            job.failure_reason = failure

    def put_logs(self, name: str, lines: list[str], stream: str = STREAM) -> None:
        """Append lines to the job's CloudWatch stream as the container's stdout would."""
        group = "/aws/sagemaker/TrainingJobs"
        for create in (lambda: self.logs.create_log_group(logGroupName=group),
                       lambda: self.logs.create_log_stream(logGroupName=group,
                                                           logStreamName=f"{name}/{stream}")):
            try:
                create()
            except self.logs.exceptions.ResourceAlreadyExistsException:
                pass
        now = int(time.time() * 1000)
        self.logs.put_log_events(logGroupName=group, logStreamName=f"{name}/{stream}",
                                 logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(lines)])

    def complete(self, name: str, model: dict[str, bytes], output: dict[str, bytes] | None = None) -> None:
        """Upload the job's model.tar.gz (and output.tar.gz), then mark it Completed."""
        artifact = self.job(name).model_artifacts["S3ModelArtifacts"]
        bucket, _, key = artifact[5:].partition("/")
        self.s3.put_object(Bucket=bucket, Key=key, Body=tar_bytes(model))
        if output is not None:
            self.s3.put_object(Bucket=bucket, Key=key.replace("model.tar.gz", "output.tar.gz"),
                               Body=tar_bytes(output))
        self.set_state(name, "Completed", "Completed")

    def run_container(self, name: str, ml: Path) -> int:
        """Be SageMaker for job `name`: fetch its channels into an /opt/ml tree at `ml`, run our real
        entrypoint there, stream its stdout to CloudWatch, then upload its outputs and set the state."""
        job = self.job(name)
        for channel in job.input_data_config:
            uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
            bucket, _, prefix = uri[5:].partition("/")
            base = prefix if prefix.endswith("/") else prefix.rsplit("/", 1)[0] + "/"
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    dest = ml / "input" / "data" / channel["ChannelName"] / obj["Key"][len(base):]
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    self.s3.download_file(bucket, obj["Key"], str(dest))
        (ml / "input" / "config").mkdir(parents=True, exist_ok=True)
        (ml / "input" / "config" / "hyperparameters.json").write_text(json.dumps(job.hyper_parameters))
        self.set_state(name, "InProgress", "Training")
        env = {**os.environ, "SPACEPORT_SM_ROOT": str(ml), "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen([sys.executable, str(REPO / "packaging" / "sagemaker" / "train"), "train"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:  # type: ignore[union-attr]
            self.put_logs(name, [line.rstrip("\n") or " "])
        code = proc.wait()
        if code != 0:
            self.set_state(name, "Failed", "Failed", failure=(ml / "output" / "failure").read_text())
            return code
        self.set_state(name, "InProgress", "Uploading")
        self.complete(name, _folder(ml / "model"), _folder(ml / "output" / "data"))
        return code

    def in_background(self, script: Callable[[], None]) -> threading.Thread:
        """Run a SageMaker script beside the code under test; exceptions surface via join_ok."""
        errors: list[BaseException] = []

        def target() -> None:
            try:
                script()
            except BaseException as exc:  # reported by the test through thread.errors
                errors.append(exc)

        thread = threading.Thread(target=target, daemon=True)
        thread.errors = errors  # type: ignore[attr-defined]
        thread.start()
        return thread


def join_ok(thread: threading.Thread, timeout: float = 30.0) -> None:
    """Wait for a background script and re-raise what it raised."""
    thread.join(timeout)
    assert not thread.is_alive(), "the SageMaker script did not finish"
    if thread.errors:  # type: ignore[attr-defined]
        raise thread.errors[0]  # type: ignore[attr-defined]


def _folder(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def tar_bytes(files: dict[str, bytes]) -> bytes:
    """A gzipped tar of regular files."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def ply_bytes(n: int = 50, seed: int = 0) -> bytes:
    """A standard 3DGS PLY of n random splats (degree 1)."""
    import tempfile

    from app.pipeline.formats.ply import write_ply
    from app.pipeline.formats.splats import Splats

    rng = np.random.default_rng(seed)
    s = Splats(means=rng.normal(size=(n, 3)).astype(np.float32),
               scales=np.full((n, 3), -3.0, np.float32),
               quats=np.tile(np.array([1, 0, 0, 0], np.float32), (n, 1)),
               opacities=np.zeros(n, np.float32), sh0=rng.normal(size=(n, 3)).astype(np.float32),
               shN=np.zeros((n, 3, 3), np.float32))
    with tempfile.TemporaryDirectory() as d:
        write_ply(Path(d) / "s.ply", s)
        return (Path(d) / "s.ply").read_bytes()


def start_in_progress(patch: Callable[..., None]) -> None:
    """New moto jobs start InProgress/Starting (moto reports Completed at once); patch = setattr."""
    from moto.sagemaker.models import FakeTrainingJob

    original = FakeTrainingJob.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.training_job_status, self.secondary_status = "InProgress", "Starting"

    patch(FakeTrainingJob, "__init__", init)


def add_stop(patch: Callable[..., None]) -> list[str]:
    """StopTrainingJob as SageMaker does it: Stopping at once, Stopped a moment later."""
    from moto.core.responses import EmptyResult
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.responses import SageMakerResponse

    calls: list[str] = []

    def stop_training_job(self: Any) -> Any:
        name = self._get_param("TrainingJobName")
        job = self.sagemaker_backend.training_jobs[name]
        if job.training_job_status not in ("InProgress",):
            raise ValidationError(message=f"The job {name} is not in progress")
        calls.append(name)
        job.training_job_status, job.secondary_status = "Stopping", "Stopping"

        def finish() -> None:
            job.training_job_status, job.secondary_status = "Stopped", "Stopped"

        threading.Timer(0.3, finish).start()
        return EmptyResult()

    patch(SageMakerResponse, "stop_training_job", stop_training_job)
    return calls


def seed_account(harness: MotoAws) -> None:
    """The bucket and the two ECR images a configured user has."""
    harness.s3.create_bucket(Bucket=BUCKET)
    ecr = harness.boto.client("ecr")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"digest": "sha256:" + "0" * 64}, "layers": []})
    for repo in ("spaceport-train", "spaceport-compress"):
        ecr.create_repository(repositoryName=repo)
        ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag="1")


@pytest.fixture
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> MotoAws:
    """A fresh emulated account: bucket, ECR images, fake credentials, SageMaker driven by hand."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")).read()
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    patch = lambda obj, name, value: monkeypatch.setattr(obj, name, value, raising=False)  # noqa: E731
    start_in_progress(patch)
    harness = MotoAws(moto_server)
    harness.stop_calls = add_stop(patch)  # type: ignore[attr-defined]
    seed_account(harness)
    return harness


def cloud_settings(project: Any, **overrides: Any) -> None:
    """Point a project's cloud settings at the emulated account (fast polling for tests)."""
    s = project.settings.cloud
    s.bucket, s.role_arn, s.train_image, s.compress_image = BUCKET, ROLE, TRAIN_IMAGE, COMPRESS_IMAGE
    s.poll_s, s.tail_s = 0.1, 0.05
    for key, value in overrides.items():
        setattr(s, key, value)
    project.save()


def write_handoff(project: Any, n_images: int = 4) -> None:
    """A small real SfM hand-off: a PINHOLE COLMAP model whose points are drawn in its JPEG images
    (so a few training steps have something to fit), and geo.json; the sfm stage marked done."""
    import pycolmap
    from PIL import Image, ImageDraw

    paths = project.paths
    paths.sfm_model.mkdir(parents=True, exist_ok=True)
    paths.sfm_images.mkdir(parents=True, exist_ok=True)
    rec = pycolmap.Reconstruction()
    w, h, f = 96, 72, 40.0
    rec.add_camera_with_trivial_rig(pycolmap.Camera(model="PINHOLE", width=w, height=h,
                                                    params=[f, f, w / 2, h / 2], camera_id=1))
    rng = np.random.default_rng(1)
    pts = rng.uniform(-1, 1, (200, 3))
    colours = rng.integers(40, 255, (200, 3), dtype=np.uint8)
    for i in range(n_images):
        t = np.array([1.5 * (i - (n_images - 1) / 2), 0.0, 5.0])  # x_cam = x_world + t
        cam = pts + t
        uv = np.stack([f * cam[:, 0] / cam[:, 2] + w / 2, f * cam[:, 1] / cam[:, 2] + h / 2], axis=1)
        name = f"img{i:03d}.jpg"
        rec.add_image_with_trivial_frame(
            pycolmap.Image(name=name, keypoints=uv, camera_id=1, image_id=i + 1),
            pycolmap.Rigid3d(pycolmap.Rotation3d(np.eye(3)), t))
        image = Image.new("RGB", (w, h), (90, 90, 90))
        draw = ImageDraw.Draw(image)
        for order in np.argsort(-cam[:, 2]):  # far points first
            x, y = uv[order]
            draw.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=tuple(int(c) for c in colours[order]))
        image.save(paths.sfm_images / name, quality=95)
    for j, p in enumerate(pts):
        track = pycolmap.Track()
        for i in range(n_images):
            track.add_element(i + 1, j)
        rec.add_point3D(p, track, colours[j])
    rec.write(str(paths.sfm_model))
    paths.geo_json.write_text(json.dumps({"origin": {"lat": 50.82, "lon": -0.14, "alt": 10.0},
                                          "crs": "ENU", "units": "m"}))
    record = project.record("sfm")
    record.state, record.run_id = "done", "sfm-run-1"
    project.save()


def mark_done_until_train(project: Any) -> None:
    """Record ingest and sfm as done and current (what a finished SfM leaves), so a run of the
    registered stages starts at train."""
    from app.pipeline.runner import Runner
    from app.pipeline.stages import default_stages

    runner = Runner(project, default_stages(), emit=lambda e: None)
    for stage in runner.stages[:2]:
        record = project.record(stage.name)
        record.state, record.run_id = "done", record.run_id or f"{stage.name}-run-1"
        record.fingerprint = runner.fingerprint(stage)
    project.save()


@pytest.fixture
def handoff_project(tmp_path: Path, aws: MotoAws) -> Any:
    """A project whose SfM is done, with cloud settings pointing at the emulated account."""
    from app.pipeline.project import Project

    flight = tmp_path / "flight"
    flight.mkdir()
    project = Project.open(tmp_path / "project é", source=flight)
    write_handoff(project)
    cloud_settings(project)
    return project
