"""What a stage is: a name, the settings section it reads, its upstream stages, and `run`.

Stages plug into the runner by being listed in `app/pipeline/stages.py`. A stage reads its
inputs from the project folder, writes its outputs there atomically, emits events through the
context, checks the cancel token between units of work, and resumes from what it left on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .cancel import CancelToken
from .events import Event, Log, Progress
from .project import Project

__all__ = ["ApproveCost", "CancelToken", "Stage", "StageContext", "decline_cost"]

ApproveCost = Callable[[Any], bool]  # shown a cloud.approval.CostEstimate: True when it is approved


def decline_cost(estimate: Any) -> bool:
    """The approval of a run nobody can ask: nothing is paid for without an explicit yes."""
    return False


@dataclass
class StageContext:
    """What a running stage gets: the project, an event emitter, the cancel token and the
    approval of cloud costs (asked once per estimate and run; see Runner.approve_cost)."""

    project: Project
    emit: Callable[[Event], None]
    cancel: CancelToken = field(default_factory=CancelToken)
    stage: str = ""
    approve_cost: ApproveCost = decline_cost

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
        self.emit(Progress(stage=self.stage, fraction=fraction, message=message))

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

    def input_warning(self, project: Project) -> str:
        """What the operator should know about a done stage whose inputs are out of reach (e.g.
        its flight folder is missing), said when a run skips it and by status; '' if nothing."""
        return ""

    def preflight(self, ctx: StageContext) -> None:
        """Checks that need no upstream output (settings, hardware, cloud access, cost approval),
        run before the first stage of a run starts; raise a SpaceportError to stop the run."""

    def expected_bytes(self, project: Project) -> int:
        """Disk space this stage's outputs are expected to take (0: negligible)."""
        return 0

    def run(self, ctx: StageContext) -> dict[str, Any]:
        """Do the work, write outputs, return a summary of outputs (JSON-ready)."""
        raise NotImplementedError

    def summary(self, outputs: dict[str, Any]) -> str:
        """One human line describing the finished stage's outputs (for the CLI)."""
        return ", ".join(f"{k}={v}" for k, v in outputs.items() if not isinstance(v, (dict, list)))
