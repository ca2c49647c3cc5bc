"""One-click offload: training (and chained compression) as SageMaker jobs, shown like local runs.

`train_in_cloud(ctx, decision)` is what TrainStage calls when the policy says cloud. It runs on the
stage's worker thread and talks to the caller only through `ctx.emit` events and `ctx.cancel`.
Compression chained in the cloud leaves compress/scene.sog and a Completed compress record; the
compress stage takes it through `cloud_compress_outputs(project)` instead of compressing again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Callable, Collection

from ..errors import InputError, StageError
from ..events import CloudJobStatus, Event, Log, Progress, TrainMetrics
from ..project import Project
from ..settings import fingerprint
from ..stage import CancelToken, StageContext
from . import jobs
from .container import COMPRESS_REPORT
from .costs import compress_placement, estimate_training, train_steps
from .extract import safe_extract
from .preflight import preflight
from .records import JobBook, JobRecord
from .session import AwsSession
from .tracker import JobTracker, outcome
from .transfer import MB, TransferSummary, Uploader, download

DEFAULT_BANDWIDTH_MB_S = 20.0
DEFAULT_SPLATS = 3_000_000
RELAUNCH = ("Failed", "Stopped", "Creating")  # Creating: the app stopped between record and launch


class CloudRun:
    """The cloud side of one project: its S3 layout, its job records and its jobs."""

    def __init__(self, project: Project, emit: Callable[[Event], None], cancel: CancelToken | None = None,
                 stage: str = "train") -> None:
        self.project, self.paths = project, project.paths
        self.emit, self.cancel, self.stage = emit, cancel or CancelToken(), stage
        self.settings = project.settings.cloud
        self.session = AwsSession(self.settings)
        self.book = JobBook.load(self.paths.cloud_jobs)
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", project.root.name)[:40] or "project"
        root_hash = hashlib.sha256(str(project.root).encode()).hexdigest()[:8]
        self.key_prefix = f"{self.settings.prefix.strip('/')}/{slug}-{root_hash}"
        self.base = f"s3://{self.settings.bucket}/{self.key_prefix}"

    # -- the whole offload ---------------------------------------------------------------------
    def train(self, decision: Any = None) -> dict[str, Any]:
        """Upload, launch or adopt, track, then collect train (and chained compress) outputs."""
        self._log(self.session.endpoint_note(), "warning")
        ident = preflight(self.session, self._image_kinds())
        self._log(f"AWS account {ident.account} as {ident.arn}")
        pairs, handoff_uri, key = self._handoff()
        job = self.book.latest("train", key)
        bandwidth = DEFAULT_BANDWIDTH_MB_S
        if job is None or job.status in RELAUNCH:
            steps = train_steps(self.project.settings.train)
            est = estimate_training(self.session, self.settings.train_instance_type, steps,
                                    sum(p.stat().st_size for p, _ in pairs), self.settings.spot)
            self._log(f"estimate: {est.text()}")
            summary = self._upload(pairs)
            if summary.bytes_sent > 8 * MB:
                bandwidth = summary.mb_per_s
            job = self._launch("train", key, _attempt(job), {"sfm": handoff_uri},
                               {"stage": "train", "settings": _section(self.project.settings.train)})
        else:
            self._log(f"following the existing SageMaker job {job.name} ({job.status})")
        last = self._track(job)
        self.collect(job, "output.tar.gz", self.paths.train)
        outputs = self._train_outputs(job, last)
        splats = int(outputs["num_gaussians"])
        where, why = compress_placement(self.settings.compress_where, splats, bandwidth)
        self._log(f"compression runs {'in the cloud' if where == 'cloud' else 'here'}: {why}")
        if where == "cloud":
            try:
                outputs["cloud"]["compress_job"] = self._compress_job(job).name
                outputs["scene_sog"] = self._rel(self.paths.scene_sog)
            except StageError as exc:  # the training is good: compress it here instead
                self._log(f"{exc.message}; the compress stage will compress here instead", "warning")
                where = "local"
        if where == "local" or self.settings.fetch_ply:
            self.collect(job, "model.tar.gz", self.paths.train)
            outputs["splats"] = self._rel(self.paths.splats_ply)
        self.ctx_progress(1.0, "cloud job done")
        return outputs

    def _compress_job(self, train_job: JobRecord) -> JobRecord:
        key = compress_key(self.project, train_job.name)
        job = self.book.latest("compress", key)
        if job is None or job.status in RELAUNCH:
            job = self._launch("compress", key, _attempt(job),
                               {"model": train_job.artifact_s3},
                               {"stage": "compress", "settings": _section(self.project.settings.compress)})
        self._track(job, stage="compress")
        self.collect(job, "model.tar.gz", self.paths.compress)
        return job

    # -- steps ---------------------------------------------------------------------------------
    def _image_kinds(self) -> tuple[str, ...]:
        return ("train",) if self.settings.compress_where == "local" else ("train", "compress")

    def _handoff(self) -> tuple[list[tuple[Path, str]], str, str]:
        """The SfM hand-off files with their keys, its S3 prefix, and the training job's key."""
        und, geo = self.paths.sfm_undistorted, self.paths.geo_json
        files = [p for sub in ("sparse", "images") for p in sorted((und / sub).rglob("*")) if p.is_file()]
        if not (und / "sparse" / "images.bin").exists() or not (und / "images").is_dir():
            raise InputError(f"No SfM hand-off in {und} (sparse/*.bin and images/)", path=und,
                             hint="run the sfm stage first: spaceport process FLIGHT -o PROJECT --until sfm")
        listing = [(p.relative_to(und).as_posix(), p.stat().st_size) for p in files]
        handoff_fp = fingerprint({"sfm_run": self.project.record("sfm").run_id, "files": listing,
                                  "geo": geo.read_text() if geo.exists() else None})
        prefix = f"{self.key_prefix}/handoff/{handoff_fp}"
        pairs = [(p, f"{prefix}/{rel}") for p, (rel, _) in zip(files, listing)]
        if geo.exists():
            pairs.append((geo, f"{prefix}/geo.json"))
        s = self.settings
        key = fingerprint({"handoff": handoff_fp, "train": _section(self.project.settings.train),
                           "image": s.train_image, "instance": s.train_instance_type, "spot": s.spot})
        return pairs, f"s3://{s.bucket}/{prefix}/", key

    def _upload(self, pairs: list[tuple[Path, str]]) -> TransferSummary:
        total_mb = sum(p.stat().st_size for p, _ in pairs) / MB

        def progress(done: int, total: int) -> None:
            self.ctx_progress(0.1 * done / max(total, 1), f"uploading the SfM hand-off: "
                              f"{done / MB:.0f}/{total_mb:.0f} MB")

        uploader = Uploader(self.session.client("s3"), self.settings.bucket,
                            kms_key_id=self.settings.kms_key_id, part_size=self.settings.part_size_mb * MB,
                            concurrency=self.settings.transfer_concurrency, cancel=self.cancel,
                            progress=progress)
        summary = uploader.upload_files(pairs)
        self._log(f"uploaded {summary.files - summary.skipped} files ({summary.bytes_sent / MB:.1f} MB at "
                  f"{summary.mb_per_s:.1f} MB/s), {summary.skipped} already there")
        return summary

    def _launch(self, kind: str, key: str, attempt: int, channels: dict[str, str],
                hyperparameters: dict[str, str]) -> JobRecord:
        """Write the record first, then create the job (a repeat finds it instead of launching again)."""
        name = jobs.job_name(kind, key, attempt)
        job = self.book.latest(kind, key)
        if job is None or job.name != name:
            job = self.book.add(JobRecord(kind=kind, name=name, key=key, attempt=attempt, inputs=channels,
                                          checkpoint_s3=f"{self.base}/checkpoints/{kind}-{key}/"))
        request = jobs.training_request(self.settings, name=name, kind=kind, channels=channels,
                                        output_s3=f"{self.base}/jobs/", checkpoint_s3=job.checkpoint_s3,
                                        hyperparameters=hyperparameters)
        desc = jobs.create(self.session.client("sagemaker"), request)
        self.book.update(job, status=desc.get("TrainingJobStatus", "InProgress"),
                         secondary_status=desc.get("SecondaryStatus", ""))
        self._log(f"SageMaker job {name} started on {request['ResourceConfig']['InstanceType']}"
                  f"{' (spot)' if self.settings.spot else ''}")
        self.emit(CloudJobStatus(stage=self.stage, job_name=name, status=job.status,
                                 secondary_status=job.secondary_status, message="launched"))
        return job

    def _track(self, job: JobRecord, stage: str | None = None) -> TrainMetrics | None:
        """Follow the job to its end (raising unless it Completed); its last metrics, if any."""
        if job.status == jobs.SUCCESS and job.artifact_s3:
            return None  # recorded as done: nothing to wait for, no API call
        tracker = JobTracker(self.session, self.book, job, self.emit, self.cancel, stage or self.stage)
        desc = tracker.run()
        outcome(job, desc)
        return tracker.last_metrics

    def collect(self, job: JobRecord, archive: str, dest: Path) -> list[str]:
        """Download the job's `archive` (model.tar.gz or output.tar.gz) and extract it safely into dest."""
        if archive in job.collected and all((dest / rel).exists() for rel in job.collected[archive]):
            return list(job.collected[archive])
        uri = job.artifact_s3.rsplit("/", 1)[0] + "/" + archive
        tmp = self.paths.cloud / f"{job.name}-{archive}"

        def progress(done: int, total: int) -> None:
            self.ctx_progress(0.9 + 0.1 * done / max(total, 1),
                              f"downloading {archive}: {done / MB:.1f}/{total / MB:.1f} MB")

        download(self.session.client("s3"), uri, tmp, concurrency=self.settings.transfer_concurrency,
                 part_size=self.settings.part_size_mb * MB, progress=progress, cancel=self.cancel)
        try:
            files = safe_extract(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        collected = dict(job.collected)
        collected[archive] = {rel: _sha256(dest / rel) for rel in files}
        self.book.update(job, collected=collected)
        return files

    # -- small helpers -------------------------------------------------------------------------
    def _train_outputs(self, job: JobRecord, last: TrainMetrics | None) -> dict[str, Any]:
        """The outputs a local run returns (files relative to the project), from the job's summary."""
        path = self.paths.train / "summary.json"
        summary: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        outputs: dict[str, Any] = dict(summary)
        for key in ("splats", "metrics", "heldout_image"):
            name = summary.get(key)
            local = self.paths.train / name if name else None
            outputs[key] = self._rel(local) if local is not None and local.exists() else None
        if "num_gaussians" not in outputs:
            outputs["num_gaussians"] = last.num_gaussians if last is not None else DEFAULT_SPLATS
        outputs["device"] = f"{summary.get('device', 'gpu')} on {self.settings.train_instance_type}"
        outputs["cloud"] = {"train_job": job.name, "splats_s3": job.artifact_s3}
        return outputs

    def ctx_progress(self, fraction: float, message: str) -> None:
        """Emit Progress for the stage this run serves."""
        self.emit(Progress(stage=self.stage, fraction=max(0.0, min(1.0, fraction)), message=message))

    def _log(self, text: str, level: str = "info") -> None:
        if text:
            self.emit(Log(stage=self.stage, level=level, text=text))

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.project.root).as_posix()


def _attempt(job: JobRecord | None) -> int:
    """The attempt to launch: the same one after a crash at launch (Creating), else the next."""
    if job is None:
        return 1
    return job.attempt if job.status == "Creating" else job.attempt + 1


def compress_key(project: Project, train_job: str) -> str:
    """What a chained compression job is made for: the training job and the compress settings."""
    s = project.settings.cloud
    return fingerprint({"train_job": train_job, "compress": _section(project.settings.compress),
                        "image": s.compress_image, "instance": s.compress_instance_type})


def _section(section: Any) -> str:
    return json.dumps(dataclasses.asdict(section), sort_keys=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(MB), b""):
            h.update(chunk)
    return h.hexdigest()


# -- what other stages and front ends call ---------------------------------------------------------
def train_in_cloud(ctx: StageContext, decision: Any = None) -> dict[str, Any]:
    """Train (and, when chained, compress) on SageMaker; returns the train stage's outputs."""
    return CloudRun(ctx.project, ctx.emit, ctx.cancel, stage=ctx.stage or "train").train(decision)


def cloud_compress_outputs(project: Project) -> dict[str, Any] | None:
    """The compress outputs a chained cloud job left for the current training, or None.

    None means compress locally: no chained job, settings changed since, or files altered.
    `report` is compress_ply's report from the job, its `output` pointing at the file here.
    """
    cloud = (project.record("train").outputs or {}).get("cloud") or {}
    train_job = cloud.get("train_job")
    if not train_job:
        return None
    job = JobBook.load(project.paths.cloud_jobs).latest("compress", compress_key(project, train_job))
    files = (job.collected.get("model.tar.gz") if job and job.status == "Completed" else None) or {}
    if not files or any(not (project.paths.compress / rel).exists()
                        or _sha256(project.paths.compress / rel) != sha for rel, sha in files.items()):
        return None
    report_path = project.paths.compress / COMPRESS_REPORT
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    if report and report.get("output"):  # a path inside the container: the same file here
        report["output"] = str(project.paths.compress / Path(report["output"]).name)
    return {"scene_sog": project.paths.scene_sog.relative_to(project.root).as_posix(),
            "files": sorted(files), "cloud_job": job.name, "report": report}


def fetch_splats(project: Project, emit: Callable[[Event], None], cancel: CancelToken | None = None) -> Path:
    """Download the cloud-trained train/splats.ply when it is not here yet (e.g. to compress locally)."""
    if project.paths.splats_ply.exists():
        return project.paths.splats_ply
    train_job = ((project.record("train").outputs or {}).get("cloud") or {}).get("train_job")
    run = CloudRun(project, emit, cancel)
    job = next((j for j in reversed(run.book.jobs) if j.name == train_job), None)
    if job is None or job.status != "Completed":
        raise InputError(f"{project.paths.splats_ply} is missing and no completed cloud training made it",
                         hint="rerun training: spaceport process -o PROJECT --from train")
    run.collect(job, "model.tar.gz", project.paths.train)
    return project.paths.splats_ply


def job_records(project: Project) -> list[JobRecord]:
    """The project's cloud jobs as last recorded (reads cloud/jobs.json only: no network, no wait)."""
    return JobBook.load(project.paths.cloud_jobs).jobs


def refresh_jobs(project: Project, emit: Callable[[Event], None]) -> list[JobRecord]:
    """Ask SageMaker for the state of every job still active in the record; all records, updated."""
    return _refresh(CloudRun(project, emit), emit)


def cancel_jobs(project: Project, emit: Callable[[Event], None],
                names: Collection[str] | None = None) -> list[str]:
    """Stop every active job of the project, or those of `names` (the window's Stop of one
    job); a run tracking them then ends as cancelled."""
    run = CloudRun(project, emit)
    stopped = []
    for job in _refresh(run, emit):
        if job.active and (names is None or job.name in names):
            jobs.stop(run.session.client("sagemaker"), job.name)
            run.book.update(job, status="Stopping")
            emit(CloudJobStatus(stage=job.kind, job_name=job.name, status="Stopping", message="stop requested"))
            stopped.append(job.name)
    return stopped


def _refresh(run: CloudRun, emit: Callable[[Event], None]) -> list[JobRecord]:
    for job in run.book.jobs:
        if not job.active:
            continue
        desc = jobs.describe(run.session.client("sagemaker"), job.name)
        if desc is None:
            continue
        run.book.update(job, status=desc["TrainingJobStatus"], secondary_status=desc.get("SecondaryStatus", ""),
                        failure_reason=desc.get("FailureReason", ""))
        emit(CloudJobStatus(stage=job.kind, job_name=job.name, status=job.status,
                            secondary_status=job.secondary_status, message=jobs.status_message(desc)))
    return run.book.jobs
