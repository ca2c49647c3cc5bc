"""What the cloud panel knows without a widget: the settings fields and their validation, the
state of the job being followed (fed by pipeline events), the jobs list rows and what a job
has cost so far. The work itself (preflight, estimate, upload, tracking, stop) is the
pipeline's, run in the background pool or in the window's run.
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.pipeline.cloud.costs import Price
from app.pipeline.cloud.instances import INSTANCE_TYPES
from app.pipeline.cloud.preflight import IMAGE_RE, ROLE_RE
from app.pipeline.cloud.records import ACTIVE, JobRecord
from app.pipeline.cloud.settings import CloudSettings
from app.pipeline.events import CloudJobStatus, Event, Log, Progress, StageStarted

CLOUD_STAGES = ("train", "compress")  # the stages whose events a cloud job feeds
LOG_TAIL = 200  # lines the panel keeps; the whole log stays in logs/events.jsonl
# offload.py reports the upload as the first tenth of the train stage's progress and the
# downloads of results as its last tenth: the transfer bar rescales those to 0..1
TRANSFER_SPANS = {"uploading": (0.0, 0.1), "downloading": (0.9, 1.0)}
BUCKET_RE = re.compile(r"^(?!\d+\.\d+\.\d+\.\d+$)(?!xn--)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")


@dataclass(frozen=True)
class Field:
    """One cloud setting the panel edits (`cloud.<name>`)."""

    name: str
    label: str
    tip: str


FIELDS = (
    Field("profile", "AWS profile", "a profile of ~/.aws/config (SSO works); empty: the default "
                                    "credential chain. Credentials never enter the project."),
    Field("region", "Region", "where the SageMaker jobs run; the bucket must be there too"),
    Field("bucket", "S3 bucket", "holds the hand-off, checkpoints and results (cloud.prefix/...)"),
    Field("role_arn", "SageMaker role", "the execution role the jobs run as "
                                        "(packaging/sagemaker/iam-execution-role.json)"),
    Field("train_image", "Training image", "ECR URI pushed by packaging/sagemaker/build_and_push.sh"),
    Field("compress_image", "Compression image", "ECR URI of the compression image"),
    Field("train_instance_type", "Training instance", "the SageMaker instance types Spaceport "
                                                      "offers (and its IAM policy allows)"),
)


def validate(name: str, value: str, settings: CloudSettings,
             profiles: tuple[str, ...] = ()) -> str:
    """'' when `value` is acceptable for `cloud.<name>`, else what is wrong and how to fix it."""
    value = value.strip()
    if name == "profile":
        if value and profiles and value not in profiles:
            return (f"no profile {value!r} in your AWS config ({', '.join(profiles)}); "
                    "create it with `aws configure sso --profile NAME`")
        return ""
    if name == "region":
        return "" if REGION_RE.match(value) else "a region name such as us-east-1"
    if name == "bucket":
        return "" if BUCKET_RE.match(value) else (
            "a bucket name: 3-63 lowercase letters, digits, dots or hyphens")
    if name == "role_arn":
        return "" if ROLE_RE.match(value) else "an IAM role ARN: arn:aws:iam::ACCOUNT:role/NAME"
    if name in ("train_image", "compress_image"):
        m = IMAGE_RE.match(value)
        if not m:
            return "an ECR image URI: ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG"
        if m["region"] != settings.region:
            return f"this image is in {m['region']} but jobs run in {settings.region}"
        return ""
    if name == "train_instance_type":
        return "" if value in INSTANCE_TYPES else f"one of {', '.join(INSTANCE_TYPES)}"
    return ""


def problems(settings: CloudSettings, profiles: tuple[str, ...] = ()) -> dict[str, str]:
    """Every field of `settings` that does not validate, with why."""
    found = {f.name: validate(f.name, str(getattr(settings, f.name) or ""), settings, profiles)
             for f in FIELDS}
    return {name: text for name, text in found.items() if text}


@dataclass
class JobView:
    """The cloud job the window follows, as its events tell it."""

    name: str = ""
    kind: str = ""
    status: str = ""
    secondary: str = ""
    message: str = ""
    transfer: str = ""  # the latest upload/download progress message
    transfer_fraction: float = 0.0
    log: deque = field(default_factory=lambda: deque(maxlen=LOG_TAIL))

    def apply(self, event: Event) -> bool:
        """Take one event; True when something the panel shows changed."""
        if event.stage not in CLOUD_STAGES:
            return False
        if isinstance(event, CloudJobStatus):
            self.name, self.kind = event.job_name, event.stage
            self.status, self.secondary, self.message = (event.status, event.secondary_status,
                                                         event.message)
            self.log.append((event.t, "info", f"{event.job_name}: {self.line()}"))
            return True
        span = TRANSFER_SPANS.get(event.message.split(" ", 1)[0]) \
            if isinstance(event, Progress) else None
        if span is not None:
            low, high = span
            fraction = min(1.0, max(0.0, (event.fraction - low) / (high - low)))
            same = event.message.split(":")[0] == self.transfer.split(":")[0]
            # parallel parts report out of order: within one transfer the bar only grows
            self.transfer_fraction = max(fraction, self.transfer_fraction) if same else fraction
            self.transfer = event.message
            return True
        if isinstance(event, Log):
            self.log.append((event.t, event.level, event.text))
            return True
        if isinstance(event, StageStarted) and event.stage == "train" and not event.resumed:
            self.transfer, self.transfer_fraction = "", 0.0
            return True
        return False

    def line(self) -> str:
        """e.g. 'InProgress / Training: Downloading the training image'."""
        return " / ".join(x for x in (self.status, self.secondary) if x) + (
            f": {self.message}" if self.message else "")


def elapsed_s(desc: dict[str, Any], now: float | None = None) -> float:
    """Seconds a job has been billed for: its BillableTimeInSeconds once it ended, else the time
    since TrainingStartTime (CreationTime before training started) while it runs."""
    if desc.get("TrainingJobStatus") not in ACTIVE and desc.get("BillableTimeInSeconds"):
        return float(desc["BillableTimeInSeconds"])
    start = desc.get("TrainingStartTime") or desc.get("CreationTime")
    if start is None:
        return 0.0
    begun = start.timestamp() if isinstance(start, datetime) else float(start)
    return max(0.0, (now if now is not None else time.time()) - begun)


@dataclass(frozen=True)
class SpentSoFar:
    """What a job has cost so far: its instance, billed seconds and the price used."""

    name: str
    instance: str
    status: str
    seconds: float
    price: Price

    @property
    def usd(self) -> float:
        """Dollars so far at the on-demand price (spot costs less)."""
        return self.seconds / 3600 * self.price.usd_per_hour

    def text(self) -> str:
        """e.g. 'INSTANCE for 12 min (InProgress): about $0.28 so far at $1.408/h (...)'."""
        return (f"{self.instance} for {self.seconds / 60:.0f} min ({self.status}): about "
                f"${self.usd:.2f} so far at {self.price.text()}, on demand")


def spent_so_far(desc: dict[str, Any], price: Price, now: float | None = None) -> SpentSoFar:
    """The cost so far of a described job."""
    instance = (desc.get("ResourceConfig") or {}).get("InstanceType", price.instance)
    return SpentSoFar(desc.get("TrainingJobName", ""), instance, desc.get("TrainingJobStatus", ""),
                   elapsed_s(desc, now), price)


def job_row(job: JobRecord, now: float | None = None) -> tuple[str, str, str, str, str]:
    """(name, kind, status, started, running time) of a jobs.json record."""
    now = now if now is not None else time.time()
    status = " / ".join(x for x in (job.status, job.secondary_status) if x)
    end = now if job.active else job.updated
    started = time.strftime("%Y-%m-%d %H:%M", time.localtime(job.created))
    return (job.name, job.kind, status + (f": {job.failure_reason}" if job.failure_reason else ""),
            started, f"{max(0.0, end - job.created) / 60:.0f} min")


def image_kinds(settings: CloudSettings) -> tuple[str, ...]:
    """The container images an offload with these settings uses (as the offload checks them)."""
    return ("train",) if settings.compress_where == "local" else ("train", "compress")
