"""Follow one SageMaker job to its end: status polls, log tailing into events.

Status is polled at most once per `poll_s` (default 10 s) and backs off when AWS throttles; logs
are read every `tail_s` so a metric reaches the chart within about a second of its log line.
A job is tracked, not owned: cancel (or Ctrl-C) stops the tracking and the job runs on, its
record kept in cloud/jobs.json for a later run to follow again; only control.stop_jobs stops it.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from ..errors import Cancelled, Detached, StageError
from ..events import CloudJobStatus, Event, Log, Progress, SfmStats, TrainMetrics
from ..cancel import CancelToken
from . import jobs
from .logs import LogTailer, parse_line
from .records import TERMINAL, JobBook, JobRecord
from .session import AwsSession, TransientAwsError

MAX_BACKOFF_S = 120.0
FORWARDED = (TrainMetrics, Progress, Log, SfmStats)  # container events that mean the same here


class JobTracker:
    """Tracks `job` until it ends; emits CloudJobStatus and the events its container logs."""

    def __init__(self, session: AwsSession, book: JobBook, job: JobRecord, emit: Callable[[Event], None],
                 cancel: CancelToken, stage: str) -> None:
        self.session, self.book, self.job = session, book, job
        self.emit, self.cancel, self.stage = emit, cancel, stage
        self.tailer = LogTailer(session.client("logs"), job.name, job.log_tokens)
        self.describe_calls = 0
        self.reported = False  # the first status is reported even unchanged: a run that
        self.last_metrics: TrainMetrics | None = None  # follows a job again says which one

    def run(self) -> dict[str, Any]:
        """Block (on the stage's worker thread) until the job ends; its final description.

        Raises Detached on cancel and re-raises KeyboardInterrupt: either way the job runs on.
        """
        try:
            return self._follow()
        except (Detached, KeyboardInterrupt) as exc:
            self.emit(Log(stage=self.stage, level="warning",
                          text=f"stopped following the SageMaker job {self.job.name}; it runs on "
                               "(and is billed) until it ends or is stopped"))
            if isinstance(exc, KeyboardInterrupt):  # the runner records the hint of a Ctrl-C from its notes
                exc.add_note(Detached(self.job.name).hint)
            raise

    def _follow(self) -> dict[str, Any]:
        settings = self.session.settings
        poll_s, tail_s = max(settings.poll_s, 0.05), max(settings.tail_s, 0.05)
        backoff = 1.0
        next_poll = next_tail = time.monotonic()
        while True:
            now = time.monotonic()
            try:
                if self.cancel.cancelled:
                    raise Detached(self.job.name)
                if now >= next_poll:
                    next_poll = now + poll_s * backoff
                    desc = self._poll()
                    backoff = 1.0
                    if desc is not None and desc["TrainingJobStatus"] in TERMINAL:
                        self._tail()
                        return desc
                if now >= next_tail:
                    next_tail = now + tail_s
                    self._tail()
            except TransientAwsError as exc:
                backoff = min(backoff * 2, MAX_BACKOFF_S / poll_s)
                next_poll = time.monotonic() + poll_s * backoff
                self.emit(Log(stage=self.stage, level="warning",
                              text=f"{exc.message}; retrying in {poll_s * backoff:.0f} s"))
            time.sleep(max(0.02, min(next_poll, next_tail, time.monotonic() + 0.25) - time.monotonic()))

    def _poll(self) -> dict[str, Any] | None:
        self.describe_calls += 1
        desc = jobs.describe(self.session.client("sagemaker"), self.job.name)
        if desc is None:
            raise StageError(f"The SageMaker job {self.job.name} has disappeared",
                             hint="it may have been deleted in another account or region; check "
                                  "cloud.region, then run again to start a new job",
                             action="configure_cloud")
        status, secondary = desc["TrainingJobStatus"], desc.get("SecondaryStatus", "")
        changed = (status, secondary) != (self.job.status, self.job.secondary_status)
        artifact = desc.get("ModelArtifacts", {}).get("S3ModelArtifacts", "")
        self.book.update(self.job, status=status, secondary_status=secondary,
                         failure_reason=desc.get("FailureReason", ""),
                         artifact_s3=artifact or self.job.artifact_s3,
                         log_tokens=dict(self.tailer.tokens))
        if changed or not self.reported:
            self.reported = True
            self.emit(CloudJobStatus(stage=self.stage, job_name=self.job.name, status=status,
                                     secondary_status=secondary, message=jobs.status_message(desc)))
        return desc

    def _tail(self) -> None:
        lines = self.tailer.poll()
        for line in lines:
            event = parse_line(line, self.stage)
            if isinstance(event, TrainMetrics):
                self.last_metrics = event
            if event is not None and not isinstance(event, FORWARDED):
                # e.g. a PreviewSnapshot names a file on the remote machine: not for this one
                event = Log(stage=event.stage, level="debug", text=f"cloud job: {type(event).__name__}")
            if event is not None:
                self.emit(event)
        if lines:  # saved after emitting: a crash re-delivers at most this batch after a restart
            self.book.update(self.job, log_tokens=dict(self.tailer.tokens))


def outcome(job: JobRecord, desc: dict[str, Any]) -> None:
    """Raise unless the job Completed: Cancelled when it was stopped, StageError saying why otherwise."""
    status, secondary = desc["TrainingJobStatus"], desc.get("SecondaryStatus", "")
    if status == jobs.SUCCESS:
        return
    if secondary == "MaxWaitTimeExceeded":
        raise StageError(f"The spot job {job.name} found no capacity within cloud.max_wait_s",
                         hint="run again later, raise cloud.max_wait_s, or turn spot off "
                              "(set cloud.spot=false)", action="rerun")
    if status == "Stopped":  # by a confirmed stop (ours or the console's): resumable
        raise Cancelled(f"the SageMaker job {job.name} was stopped",
                        hint="running again starts a new attempt that resumes from the job's checkpoints")
    reason = desc.get("FailureReason") or "no reason given"
    raise StageError(f"The SageMaker job {job.name} failed: {reason}",
                     hint="its full log is in CloudWatch (/aws/sagemaker/TrainingJobs); fix the cause "
                          "and run again (a new attempt resumes from the checkpoints)", action="rerun")
