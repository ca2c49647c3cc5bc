"""What a stage is: a name, the settings section it reads, its upstream stages, and `run`.

Stages plug into the runner by being listed in `app/pipeline/stages.py`. A stage reads its
inputs from the project folder, writes its outputs there atomically, emits events through the
context, checks the cancel token between units of work, and resumes from what it left on disk.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import Cancelled
from .events import Event, Log, Progress
from .project import Project


class CancelToken:
    """Set by the UI/CLI to ask the running stage to stop at its next checkpoint."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the pipeline to stop."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once cancel() was called."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise Cancelled if cancel() was called; call between units of work."""
        if self._event.is_set():
            raise Cancelled()


@dataclass
class StageContext:
    """What a running stage gets: the project, an event emitter and the cancel token."""

    project: Project
    emit: Callable[[Event], None]
    cancel: CancelToken = field(default_factory=CancelToken)
    stage: str = ""
    options: dict[str, Any] = field(default_factory=dict)  # per-run choices (e.g. train_on)

    @property
    def settings(self) -> Any:
        """This stage's settings section."""
        return self.project.settings.section(self.stage)

    @property
    def out_dir(self) -> Any:
        """This stage's folder in the project (created on first use)."""
        path = self.project.paths.stage_dir(self.stage)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def progress(self, fraction: float, message: str = "") -> None:
        """Emit Progress for this stage."""
        self.emit(Progress(stage=self.stage, fraction=max(0.0, min(1.0, fraction)), message=message))

    def log(self, text: str, level: str = "info") -> None:
        """Emit a Log line for this stage."""
        self.emit(Log(stage=self.stage, level=level, text=text))


class Stage:
    """Base of a pipeline stage; subclasses set `name`, `upstream` and implement `run`."""

    name: str = ""
    upstream: tuple[str, ...] = ()

    def fingerprint_inputs(self, project: Project) -> dict[str, Any]:
        """Everything besides settings and upstream runs that should invalidate this stage."""
        return {}

    def run(self, ctx: StageContext) -> dict[str, Any]:
        """Do the work, write outputs, return a summary of outputs (JSON-ready)."""
        raise NotImplementedError

    def summary(self, outputs: dict[str, Any]) -> str:
        """One human line describing the finished stage's outputs (for the CLI)."""
        return ", ".join(f"{k}={v}" for k, v in outputs.items() if not isinstance(v, (dict, list)))
