"""Job records in the project (cloud/jobs.json): enough to resume tracking after an app restart.

A record is written *before* its job is created (write-ahead), so a crash between the two is
recovered by describing the job under the recorded, deterministic name, never by launching again.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import atomic
from ..errors import ProjectError

SCHEMA_VERSION = 1
ACTIVE = ("Creating", "InProgress", "Stopping")
TERMINAL = ("Completed", "Failed", "Stopped")


@dataclass
class JobRecord:
    """One SageMaker training job launched for this project (a train or a compress job)."""

    kind: str  # train | compress
    name: str  # TrainingJobName, deterministic from the inputs and the attempt number
    key: str  # fingerprint of what the job was made for (hand-off + settings)
    attempt: int = 1
    status: str = "Creating"  # Creating (record written, job maybe not yet) or SageMaker's status
    secondary_status: str = ""
    failure_reason: str = ""
    inputs: dict[str, str] = field(default_factory=dict)  # channel -> S3 URI
    artifact_s3: str = ""  # model.tar.gz URI once known
    checkpoint_s3: str = ""
    log_tokens: dict[str, str] = field(default_factory=dict)  # stream -> nextForwardToken
    collected: dict[str, Any] = field(default_factory=dict)  # files extracted: rel path -> sha256
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)

    @property
    def active(self) -> bool:
        """True while the job may still be running on SageMaker."""
        return self.status in ACTIVE

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "JobRecord":
        """Build from jobs.json, ignoring unknown keys."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


class JobBook:
    """All job records of a project, oldest first; saved atomically on every change."""

    def __init__(self, path: Path, jobs: list[JobRecord] | None = None) -> None:
        self.path = Path(path)
        self.jobs: list[JobRecord] = jobs or []

    @classmethod
    def load(cls, path: Path) -> "JobBook":
        """Read jobs.json (an absent file is an empty book)."""
        path = Path(path)
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            jobs = [JobRecord.from_dict(j) for j in data.get("jobs", [])]
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise ProjectError(f"The cloud job record is unreadable: {exc}",
                               hint="look the jobs up in the SageMaker console; delete the file to "
                                    "forget them (running jobs keep running)", path=path) from exc
        return cls(path, jobs)

    def save(self) -> None:
        """Write jobs.json atomically."""
        atomic.write_json(self.path, {"schema_version": SCHEMA_VERSION,
                                      "jobs": [dataclasses.asdict(j) for j in self.jobs]})

    def latest(self, kind: str, key: str | None = None) -> JobRecord | None:
        """The newest record of `kind` (made for `key` when given), or None."""
        for job in reversed(self.jobs):
            if job.kind == kind and (key is None or job.key == key):
                return job
        return None

    def add(self, job: JobRecord) -> JobRecord:
        """Append a record and save."""
        self.jobs.append(job)
        self.save()
        return job

    def update(self, job: JobRecord, **changes: Any) -> None:
        """Change fields of a record and save."""
        for name, value in changes.items():
            setattr(job, name, value)
        job.updated = time.time()
        self.save()
