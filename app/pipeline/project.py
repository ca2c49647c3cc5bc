"""A project folder: the one place that names every folder and file, project.json and the lock.

Layout (ARCHITECTURE.md): project.json, ingest/, sfm/, train/, compress/, exports/, cloud/,
logs/events.jsonl. project.json holds the schema version, the flight source, the settings and a
record per stage (state, reason, input fingerprint, outputs). Every write is atomic.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import atomic
from .errors import ProjectError
from .settings import Settings

SCHEMA_VERSION = 1
STATES = ("pending", "running", "done", "failed", "cancelled", "stale")


@dataclass
class StageRecord:
    """What project.json remembers of one stage."""

    state: str = "pending"
    reason: str = ""
    hint: str = ""
    action: str = ""  # the next step, machine-readable (errors.py lists them)
    fingerprint: str = ""
    run_id: str = ""
    started: float | None = None
    finished: float | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    basis: dict[str, Any] = field(default_factory=dict)  # what `fingerprint` hashed (runner.py)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StageRecord":
        """Build from project.json, ignoring unknown keys."""
        names = cls.__dataclass_fields__.keys()
        return cls(**{k: v for k, v in data.items() if k in names})


class ProjectPaths:
    """Every folder and file of a project, named once."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.project_json = self.root / "project.json"
        self.lock = self.root / ".lock"
        self.ingest = self.root / "ingest"
        self.flight_json = self.ingest / "flight.json"
        self.ingest_report = self.ingest / "report.json"
        self.sfm = self.root / "sfm"
        self.sfm_database = self.sfm / "database.db"
        self.sfm_sparse = self.sfm / "sparse"  # raw (distorted) models, one subfolder per model
        self.sfm_undistorted = self.sfm / "undistorted"
        self.sfm_images = self.sfm_undistorted / "images"  # hand-off to training: PINHOLE images
        self.sfm_model = self.sfm_undistorted / "sparse"  # hand-off: cameras/images/points3D.bin
        self.geo_json = self.sfm / "geo.json"
        self.sfm_stats = self.sfm / "stats.json"
        self.train = self.root / "train"
        self.checkpoints = self.train / "checkpoints"
        self.splats_ply = self.train / "splats.ply"
        self.train_metrics = self.train / "metrics.jsonl"
        self.previews = self.train / "previews"
        self.compress = self.root / "compress"
        self.scene_sog = self.compress / "scene.sog"
        self.exports = self.root / "exports"
        self.cloud = self.root / "cloud"
        self.cloud_jobs = self.cloud / "jobs.json"
        self.cloud_uploads = self.cloud / "uploads.json"  # multipart parts sent (part_journal.py)
        self.logs = self.root / "logs"
        self.events = self.logs / "events.jsonl"
        self.run_stderr = self.logs / "run-stderr.log"  # a window's child run: native logs, crashes

    def stage_dir(self, stage: str) -> Path:
        """The folder a stage writes into."""
        return self.root / stage


class ProjectLock:
    """One process owns a project: a lock file holding pid, host and time; stale locks are taken over."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.token = uuid.uuid4().hex
        self.held = False

    def acquire(self) -> None:
        """Take the lock or raise ProjectError naming the process that holds it."""
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(),
                "token": self.token}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._read()
                if holder is not None and self._alive(holder):
                    raise ProjectError(
                        f"Project {self.path.parent} is open in another process "
                        f"(pid {holder.get('pid')} on {holder.get('host')})",
                        hint="close the other Spaceport window or wait for that run to finish",
                        path=self.path, action="wait") from None
                self.path.unlink(missing_ok=True)  # stale: its owner is gone
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(info, f)
            self.held = True
            return
        raise ProjectError(f"Could not take the lock {self.path}", path=self.path)

    def holder(self) -> dict[str, Any] | None:
        """The live process holding the lock ({pid, host, since, ...}), or None when free or stale."""
        info = self._read()
        return info if info is not None and self._alive(info) else None

    def release(self) -> None:
        """Remove the lock if this object still owns it."""
        if self.held and (self._read() or {}).get("token") == self.token:
            self.path.unlink(missing_ok=True)
        self.held = False

    def _read(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None

    @staticmethod
    def _alive(holder: dict[str, Any]) -> bool:
        if holder.get("host") != socket.gethostname():
            return True  # another machine (shared drive): assume it is alive
        pid = holder.get("pid")
        if not isinstance(pid, int):
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


class Project:
    """A project folder opened by this process (use as a context manager to hold the lock)."""

    def __init__(self, root: Path, *, source: Path | None = None, settings: Settings | None = None,
                 stages: dict[str, StageRecord] | None = None) -> None:
        self.root = Path(root).absolute()
        self.paths = ProjectPaths(self.root)
        self.source = Path(source).absolute() if source else None
        self.settings = settings or Settings()
        self.stages: dict[str, StageRecord] = stages or {}
        self._lock = ProjectLock(self.paths.lock)

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def open(cls, root: Path, source: Path | None = None, create: bool = True) -> "Project":
        """Load project.json, or create a new project folder for `source` when `create` is set."""
        root = Path(root).absolute()
        if source is not None:
            check_flight_folder_is_not_a_project(Path(source).absolute(), root)
        pj = ProjectPaths(root).project_json
        if pj.exists():
            project = cls._load(pj)
            if source is not None:
                project.source = Path(source).absolute()
            return project
        if not create:
            raise ProjectError(f"{root} is not a Spaceport project (no project.json)",
                               hint="open a flight folder with this folder as its project to create it",
                               path=root, action="create_project")
        if source is not None:
            _check_output_location(root, Path(source).absolute())
        try:
            root.mkdir(parents=True, exist_ok=True)
            probe = root / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise ProjectError(f"Cannot write the project folder {root}: {exc.strerror or exc}",
                               hint="choose a project folder you can write to",
                               path=root, action="fix_input") from exc
        project = cls(root, source=source)
        project.save()
        return project

    @classmethod
    def _load(cls, pj: Path) -> "Project":
        try:
            data = json.loads(pj.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ProjectError(f"project.json is unreadable: {exc}",
                               hint="restore it from a backup, or start a new project folder",
                               path=pj) from exc
        version = data.get("schema_version")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ProjectError(
                f"project.json has schema version {version!r}; this Spaceport reads up to "
                f"{SCHEMA_VERSION}", hint="update Spaceport to open this project", path=pj)
        stages = {k: StageRecord.from_dict(v) for k, v in (data.get("stages") or {}).items()}
        src = data.get("source")
        return cls(pj.parent, source=Path(src) if src else None,
                   settings=Settings.from_dict(data.get("settings") or {}), stages=stages)

    def __enter__(self) -> "Project":
        self.lock()
        return self

    def __exit__(self, *exc: object) -> None:
        self.unlock()

    def lock(self) -> None:
        """Take the one-process lock (ProjectError if another live process holds it)."""
        self._lock.acquire()
        self._remove_torn_writes()

    def _remove_torn_writes(self) -> None:
        """Delete temp files a killed writer left (we hold the lock: nobody else is writing)."""
        p = self.paths
        for folder in (p.root, p.ingest, p.sfm, p.train, p.checkpoints, p.compress, p.exports,
                       p.cloud, p.logs):
            for tmp in folder.glob(".*.tmp") if folder.is_dir() else ():
                tmp.unlink(missing_ok=True)

    def unlock(self) -> None:
        """Release the lock."""
        self._lock.release()

    def lock_holder(self) -> dict[str, Any] | None:
        """The live process that holds this project's lock (pid, host, since), or None."""
        return self._lock.holder()

    # -- state -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The content of project.json."""
        return {
            "schema_version": SCHEMA_VERSION,
            "app": "spaceport",
            "source": str(self.source) if self.source else None,
            "settings": self.settings.to_dict(),
            "stages": {k: vars(v) for k, v in self.stages.items()},
        }

    def save(self) -> None:
        """Write project.json atomically."""
        atomic.write_json(self.paths.project_json, self.to_dict())

    def record(self, stage: str) -> StageRecord:
        """The record of `stage`, created pending if new."""
        return self.stages.setdefault(stage, StageRecord())

    def new_run_id(self) -> str:
        """A fresh id for a stage completion (downstream fingerprints include it)."""
        return uuid.uuid4().hex[:12]


def project_containing(folder: Path) -> Path | None:
    """The project folder that `folder` is (or lies inside), or None."""
    folder = folder.resolve()
    return next((p for p in (folder, *folder.parents) if ProjectPaths(p).project_json.is_file()),
                None)


def check_flight_folder_is_not_a_project(source: Path, root: Path | None = None) -> None:
    """Refuse a project folder (or a folder inside one, such as its undistorted images) given
    as the flight folder: its images are Spaceport's own outputs, not the drone's photos. A
    flight kept inside its own project folder `root` is fine."""
    project = project_containing(source)
    if project is None or (root is not None and project == root.resolve()):
        return
    where = "is a Spaceport project folder" if project == source.resolve() else \
        f"is inside the Spaceport project {project}"
    raise ProjectError(f"{source} {where}, not a flight folder",
                       hint="open it as a project to see or resume it; to start a project, "
                            "choose the folder that holds the drone's photos", path=source,
                       action="fix_input")


def _check_output_location(root: Path, source: Path) -> None:
    try:
        root.resolve().relative_to(source.resolve())
    except ValueError:
        return
    raise ProjectError(f"The project folder {root} is inside the flight folder {source}",
                       hint="choose an output folder outside the flight folder; the flight "
                            "folder is read, never written", path=root, action="fix_input")
