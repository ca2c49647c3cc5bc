"""The training run a project's settings resolve to on a device: a CPU preview or a full run.

This is what a result depends on (not where it ran): the train stage's fingerprint holds it,
the trainer follows it, and the cloud cost estimate counts its steps.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .settings import TrainSettings


@dataclass(frozen=True)
class TrainPlan:
    """Steps, image size and Gaussian budget of one training run."""

    kind: str  # cpu_preview | full
    steps: int
    max_side: int  # long side of the training images (0: as the SfM hand-off has them)
    max_gaussians: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the train stage fingerprints it)."""
        return asdict(self)

    def describe(self) -> str:
        """e.g. 'a 1000-step CPU preview at 128 px' or 'full training, 30000 steps at 1600 px'."""
        size = f"{self.max_side} px" if self.max_side else "full size"
        if self.kind == "cpu_preview":
            return f"a {self.steps}-step CPU preview at {size}"
        return f"full training, {self.steps} steps at {size}"


def plan_for(settings: TrainSettings, on_gpu: bool) -> TrainPlan:
    """The run `settings` ask for on a GPU (local or cloud) or, reduced to a preview, on the CPU."""
    steps = settings.total_steps()
    if on_gpu:
        return TrainPlan("full", steps, settings.max_side, settings.max_gaussians)
    if not settings.max_steps:
        steps = min(steps, settings.cpu_max_steps)
    return TrainPlan("cpu_preview", steps, settings.cpu_max_side,
                     min(settings.max_gaussians, settings.cpu_max_gaussians))
