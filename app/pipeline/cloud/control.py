"""What front ends do with a project's cloud jobs besides running them: list, refresh, stop, fetch.

`job_records` and `active_jobs` read cloud/jobs.json only (instant). `refresh_jobs`, `stop_jobs`
and `fetch_splats` call AWS: run them off the UI thread. `stop_jobs` is the one way Spaceport
stops a paid job (the CLI's `cloud cancel` after its confirmation, the window's confirmed Stop).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

from ..cancel import CancelToken
from ..errors import InputError
from ..events import CloudJobStatus, Event
from ..project import Project
from . import jobs
from .contract import MODEL_ARCHIVE
from .offload import CloudRun
from .records import JobBook, JobRecord


def job_records(project: Project) -> list[JobRecord]:
    """The project's cloud jobs as last recorded (reads cloud/jobs.json only: no network, no wait)."""
    return JobBook.load(project.paths.cloud_jobs).jobs


def active_jobs(project: Project) -> list[JobRecord]:
    """The recorded jobs that may still run (and cost money), to name before stopping them."""
    return [job for job in job_records(project) if job.active]


def refresh_jobs(project: Project, emit: Callable[[Event], None]) -> list[JobRecord]:
    """Ask SageMaker for the state of every job still active in the record; all records, updated."""
    return _refresh(CloudRun(project, emit), emit)


def stop_jobs(project: Project, emit: Callable[[Event], None],
              names: Iterable[str] | None = None) -> list[str]:
    """Stop the project's active jobs (those in `names` when given); the names asked to stop.

    A run following such a job then ends as stopped (resumable: a new attempt starts from the
    job's checkpoints). Call it only after the user confirmed.
    """
    run = CloudRun(project, emit)
    wanted = set(names) if names is not None else None
    stopped = []
    for job in _refresh(run, emit):
        if job.active and (wanted is None or job.name in wanted):
            jobs.stop(run.session.client("sagemaker"), job.name)
            run.book.update(job, status="Stopping")
            emit(CloudJobStatus(stage=job.kind, job_name=job.name, status="Stopping", message="stop requested"))
            stopped.append(job.name)
    return stopped


def fetch_splats(project: Project, emit: Callable[[Event], None], cancel: CancelToken | None = None) -> Path:
    """Download the cloud-trained train/splats.ply when it is not here yet (e.g. to compress locally)."""
    if project.paths.splats_ply.exists():
        return project.paths.splats_ply
    train_job = ((project.record("train").outputs or {}).get("cloud") or {}).get("train_job")
    run = CloudRun(project, emit, cancel)
    job = next((j for j in reversed(run.book.jobs) if j.name == train_job), None)
    if job is None or job.status != jobs.SUCCESS:
        raise InputError(f"{project.paths.splats_ply} is missing and no completed cloud training made it",
                         hint="run the train stage again")
    run.collect(job, MODEL_ARCHIVE, project.paths.train)
    return project.paths.splats_ply


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
