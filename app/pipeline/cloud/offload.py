"""One-click offload: training (and chained compression) as SageMaker jobs, shown like local runs.

`preflight_cloud(ctx)` runs before the first stage of a run (AWS access, instance types, the
cost approval); `train_in_cloud(ctx)` is what TrainStage calls when training resolves to the
cloud. Both run on the stage's worker thread and talk to the caller only through `ctx.emit`,
`ctx.cancel` (which detaches from a job, never stops it) and `ctx.approve_cost`. A chained
compression leaves compress/prebuilt.json, which the compress stage reads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Callable

from ..cancel import CancelToken
from ..compress.prebuilt import write_prebuilt
from ..errors import Detached, InputError, StageError
from ..events import CloudJobStatus, Event, Log, TrainMetrics, progress_emitter
from ..fields import result_values
from ..hashing import sha256_file
from ..project import Project
from ..settings import fingerprint
from ..stage import ApproveCost, StageContext, decline_cost
from ..train.plan import plan_for
from . import jobs
from .approval import estimate_offload
from .contract import (COMPRESS_REPORT, MODEL_ARCHIVE, MODEL_CHANNEL, OUTPUT_ARCHIVE, SFM_CHANNEL,
                       TRAIN_SUMMARY)
from .costs import compress_placement
from .extract import safe_extract
from .figures import bandwidth
from .instances import instance_type
from .part_journal import PartJournal
from .preflight import preflight
from .records import JobBook, JobRecord
from .session import AwsSession
from .tracker import JobTracker, outcome
from .transfer import MB, TransferSummary, Uploader, download

RELAUNCH = ("Failed", "Stopped", "Creating")  # Creating: the app stopped between record and launch
MEASURED_UPLOAD_BYTES = 8 * MB  # a smaller upload says little about the link


class CloudRun:
    """The cloud side of one project: its S3 layout, its job records and its jobs."""

    def __init__(self, project: Project, emit: Callable[[Event], None], cancel: CancelToken | None = None,
                 stage: str = "train", approve_cost: ApproveCost = decline_cost) -> None:
        self.project, self.paths = project, project.paths
        self.emit, self.cancel, self.stage = emit, cancel or CancelToken(), stage
        self.approve_cost = approve_cost
        self.progress = progress_emitter(emit, stage)
        self.settings = project.settings.cloud
        self.session = AwsSession(self.settings)
        self.book = JobBook.load(self.paths.cloud_jobs)
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", project.root.name)[:40] or "project"
        root_hash = hashlib.sha256(str(project.root).encode()).hexdigest()[:8]
        self.key_prefix = f"{self.settings.prefix.strip('/')}/{slug}-{root_hash}"
        self.base = f"s3://{self.settings.bucket}/{self.key_prefix}"

    # -- before the run ------------------------------------------------------------------------
    def preflight(self) -> None:
        """Instance types, AWS access (identity, bucket, images) and the cost approval."""
        instance_type(self.settings.train_instance_type, "cloud.train_instance_type")
        instance_type(self.settings.compress_instance_type, "cloud.compress_instance_type")
        self._log(self.session.endpoint_note(), "warning")
        ident = preflight(self.session, self._image_kinds())
        self._log(f"AWS account {ident.account} as {ident.arn}")
        following = [job for job in self.book.jobs if job.active]  # training or the chained
        if following:  # compression: reattaching costs nothing new; a new launch still asks
            job = following[-1]
            self._log(f"the SageMaker {job.kind} job {job.name} is still running: following it")
        else:
            self._approved()

    def _approved(self) -> None:
        """Show the estimate; InputError unless it is approved (nothing is uploaded before)."""
        estimate = estimate_offload(self.project.settings, self.session)
        if not self.approve_cost(estimate):
            raise InputError(f"The cloud cost estimate (about ${estimate.total_usd:.2f}) was not "
                             "approved; nothing was uploaded",
                             hint="approve the estimate to train in the cloud, or train locally",
                             action="approve_cost")
        self._log(f"cloud cost estimate approved: about ${estimate.total_usd:.2f} ({estimate.run})")

    # -- the whole offload ---------------------------------------------------------------------
    def train(self) -> dict[str, Any]:
        """Upload, launch or adopt, track, then collect train (and chained compress) outputs."""
        pairs, handoff_uri, key = self._handoff()
        job = self.book.latest("train", key)
        link = bandwidth()
        try:
            if job is None or job.status in RELAUNCH:
                self._approved()
                summary = self._upload(pairs)
                if summary.bytes_sent > MEASURED_UPLOAD_BYTES:
                    link = bandwidth(summary.mb_per_s)
                job = self._launch("train", key, _attempt(job), {SFM_CHANNEL: handoff_uri},
                                   {"stage": "train",
                                    "settings": _container_settings(self.project.settings.train)})
            else:
                self._log(f"following the existing SageMaker job {job.name} ({job.status})")
            last = self._track(job)
        except KeyboardInterrupt as exc:  # a Ctrl-C after the launch, before or while tracking
            _note_detached(exc, self.book.latest("train", key))
            raise
        self.collect(job, OUTPUT_ARCHIVE, self.paths.train)
        outputs = self._train_outputs(job, last)
        where, why = compress_placement(self.settings.compress_where, outputs["num_gaussians"], link,
                                        instance_type(self.settings.compress_instance_type,
                                                      "cloud.compress_instance_type"))
        self._log(f"compression runs {'in the cloud' if where == 'cloud' else 'here'}: {why}")
        if where == "cloud":
            try:
                outputs["cloud"]["compress_job"] = self._compress_job(job).name
                outputs["scene_sog"] = self._rel(self.paths.scene_sog)
            except StageError as exc:  # the training is good: compress it here instead
                self._log(f"{exc.message}; the compress stage will compress here instead", "warning")
                where = "local"
        if where == "local" or self.settings.fetch_ply:
            self.collect(job, MODEL_ARCHIVE, self.paths.train)
            outputs["splats"] = self._rel(self.paths.splats_ply)
        self.progress(1.0, "cloud job done")
        return outputs

    def _compress_job(self, train_job: JobRecord) -> JobRecord:
        """Run (or adopt) the chained compression and leave its result for the compress stage."""
        settings = self.project.settings.compress
        key = compress_key(self.project, train_job.name)
        job = self.book.latest("compress", key)
        if job is None or job.status in RELAUNCH:
            job = self._launch("compress", key, _attempt(job), {MODEL_CHANNEL: train_job.artifact_s3},
                               {"stage": "compress", "settings": _section(settings)})
        self._track(job, stage="compress")
        files = self.collect(job, MODEL_ARCHIVE, self.paths.compress)
        report_path = self.paths.compress / COMPRESS_REPORT
        report = json.loads(report_path.read_text()) if report_path.exists() else {}
        if not report.get("output"):
            raise StageError(f"The compression job {job.name} left no {COMPRESS_REPORT}")
        write_prebuilt(self.paths.compress, train_job.name, settings, files, report)
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
                             hint="run the sfm stage first")
        listing = [(p.relative_to(und).as_posix(), p.stat().st_size) for p in files]
        handoff_fp = fingerprint({"sfm_run": self.project.record("sfm").run_id, "files": listing,
                                  "geo": geo.read_text() if geo.exists() else None})
        prefix = f"{self.key_prefix}/handoff/{handoff_fp}"
        pairs = [(p, f"{prefix}/{rel}") for p, (rel, _) in zip(files, listing)]
        if geo.exists():
            pairs.append((geo, f"{prefix}/{geo.name}"))
        s, train = self.settings, self.project.settings.train
        key = fingerprint({"handoff": handoff_fp, "train": result_values(train),
                           "run": plan_for(train, on_gpu=True).to_dict(),
                           "image": s.train_image, "instance": s.train_instance_type, "spot": s.spot})
        return pairs, f"s3://{s.bucket}/{prefix}/", key

    def _upload(self, pairs: list[tuple[Path, str]]) -> TransferSummary:
        total_mb = sum(p.stat().st_size for p, _ in pairs) / MB

        def progress(done: int, total: int) -> None:
            self.progress(0.1 * done / max(total, 1), f"uploading the SfM hand-off: "
                          f"{done / MB:.0f}/{total_mb:.0f} MB")

        uploader = Uploader(self.session.client("s3"), self.settings.bucket,
                            kms_key_id=self.settings.kms_key_id, part_size=self.settings.part_size_mb * MB,
                            concurrency=self.settings.transfer_concurrency, cancel=self.cancel,
                            progress=progress, journal=PartJournal(self.paths.cloud_uploads))
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
            self.progress(0.9 + 0.1 * done / max(total, 1),
                          f"downloading {archive}: {done / MB:.1f}/{total / MB:.1f} MB")

        download(self.session.client("s3"), uri, tmp, concurrency=self.settings.transfer_concurrency,
                 part_size=self.settings.part_size_mb * MB, progress=progress, cancel=self.cancel)
        try:
            files = safe_extract(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        collected = dict(job.collected)
        collected[archive] = {rel: sha256_file(dest / rel) for rel in files}
        self.book.update(job, collected=collected)
        return files

    # -- small helpers -------------------------------------------------------------------------
    def _train_outputs(self, job: JobRecord, last: TrainMetrics | None) -> dict[str, Any]:
        """The outputs a local run returns (files relative to the project), from the job's summary.

        Without the summary, the Gaussian count is the last one the job logged, else unknown (None).
        """
        path = self.paths.train / TRAIN_SUMMARY
        summary: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        outputs: dict[str, Any] = dict(summary)
        for key in ("splats", "metrics", "heldout_image"):
            name = summary.get(key)
            local = self.paths.train / name if name else None
            outputs[key] = self._rel(local) if local is not None and local.exists() else None
        if "num_gaussians" not in outputs:
            outputs["num_gaussians"] = last.num_gaussians if last is not None else None
        device = summary.get("device") or "an unreported device"
        outputs["device"] = f"{device} on {self.settings.train_instance_type}"
        outputs["cloud"] = {"train_job": job.name, "splats_s3": job.artifact_s3}
        return outputs

    def _log(self, text: str, level: str = "info") -> None:
        if text:
            self.emit(Log(stage=self.stage, level=level, text=text))

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.project.root).as_posix()


def _note_detached(exc: KeyboardInterrupt, job: JobRecord | None) -> None:
    """Tell the runner (through the exception's notes) that a launched job runs on."""
    if job is not None and job.active:
        hint = Detached(job.name).hint
        if hint not in getattr(exc, "__notes__", ()):
            exc.add_note(hint)


def _attempt(job: JobRecord | None) -> int:
    """The attempt to launch: the same one after a crash at launch (Creating), else the next."""
    if job is None:
        return 1
    return job.attempt if job.status == "Creating" else job.attempt + 1


def compress_key(project: Project, train_job: str) -> str:
    """What a chained compression job is made for: the training job and the compress settings."""
    s = project.settings.cloud
    return fingerprint({"train_job": train_job, "compress": result_values(project.settings.compress),
                        "image": s.compress_image, "instance": s.compress_instance_type})


def _section(section: Any) -> str:
    return json.dumps(dataclasses.asdict(section), sort_keys=True)


def _container_settings(train: Any) -> str:
    """The train settings as the container reads them: full training on its GPU."""
    return json.dumps({**dataclasses.asdict(train), "where": "local", "device": "auto"}, sort_keys=True)


# -- what the train stage calls ---------------------------------------------------------------------
def preflight_cloud(ctx: StageContext) -> None:
    """Before the run: AWS access, the instance types, and the approval of the cost estimate."""
    CloudRun(ctx.project, ctx.emit, ctx.cancel, ctx.stage or "train", ctx.approve_cost).preflight()


def train_in_cloud(ctx: StageContext) -> dict[str, Any]:
    """Train (and, when chained, compress) on SageMaker; returns the train stage's outputs."""
    return CloudRun(ctx.project, ctx.emit, ctx.cancel, ctx.stage or "train", ctx.approve_cost).train()
