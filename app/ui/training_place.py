"""Where training runs, always in view: the policy's decision and reason, and the switch that
sets `train.where`. The GPUs come from gpus.py (a child lists them); the estimate of a cloud
run is computed in the pool."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGroupBox, QLabel, QVBoxLayout, QWidget

from app.pipeline.cloud.approval import CostEstimate, estimate_offload
from app.pipeline.errors import SpaceportError
from app.pipeline.hardware import Decision, GpuInfo, cloud_configured, decide
from app.pipeline.project import Project
from app.pipeline.settings import Settings

from .gpus import known_gpus
from .pool import BackgroundPool

CHOICES = {"auto": "Automatic", "local": "This computer", "cloud": "Cloud (SageMaker)"}


@dataclass(frozen=True)
class Placement:
    """Where training would run now, why, and (for the cloud) what it would cost."""

    decision: Decision | None
    problem: str = ""  # the choice cannot work as set (e.g. cloud chosen, none configured)
    estimate: CostEstimate | None = None
    gpu: GpuInfo | None = None

    @property
    def cloud(self) -> bool:
        """True when training would launch a cloud job."""
        return self.decision is not None and self.decision.where == "cloud"

    def text(self) -> str:
        """e.g. 'local GPU: NVIDIA A10G, 22 GiB' / 'cloud: <instance type>, about $X and Y min'."""
        if self.decision is None:
            return f"cannot train as set: {self.problem}"
        if self.cloud and self.estimate is not None:
            est = self.estimate
            minutes = sum(job.seconds for job in est.jobs) / 60
            return (f"cloud: {est.jobs[0].instance}, about ${est.total_usd:.2f} and "
                    f"{minutes:.0f} min")
        if self.gpu is not None:
            return f"local GPU: {self.gpu.name}, {self.gpu.memory_gib:.0f} GiB"
        return f"CPU preview: {self.decision.reason}"


def place_training(settings: Settings, gpus: list[GpuInfo]) -> Placement:
    """Apply the local-or-cloud policy to the settings and GPUs; estimate a cloud run."""
    try:
        decision = decide(settings.train.where, gpus, cloud_configured(settings.cloud))
        if decision.where == "cloud":
            return Placement(decision, estimate=estimate_offload(settings))
    except SpaceportError as exc:
        return Placement(None, problem=exc.message)
    gpu = next((g for g in gpus if decision.device == f"cuda:{g.index}"), None)
    return Placement(decision, gpu=gpu)


class TrainingPlace(QGroupBox):
    """The decision in words and the Automatic / This computer / Cloud switch."""

    where_chosen = Signal(str)  # auto | local | cloud

    def __init__(self, pool: BackgroundPool, parent: QWidget | None = None) -> None:
        super().__init__("Where training runs", parent)
        self.setObjectName("trainingPlace")
        self.pool = pool
        self.placement: Placement | None = None
        self.label = QLabel("checking this computer's GPUs…")
        self.label.setObjectName("trainingPlaceText")
        self.label.setWordWrap(True)
        self.switch = QComboBox()
        for key, text in CHOICES.items():
            self.switch.addItem(text, key)
        self.switch.activated.connect(lambda i: self.where_chosen.emit(self.switch.itemData(i)))
        box = QVBoxLayout(self)
        box.addWidget(self.switch)
        box.addWidget(self.label)

    def show_for(self, project: Project | None, editable: bool) -> None:
        """Show where `project` would train (decided in the pool once the GPUs are listed)."""
        self.switch.setEnabled(editable and project is not None)
        gpus = known_gpus()
        if project is None or gpus is None:
            return  # the window calls again when the GPUs are listed
        self.switch.setCurrentIndex(max(0, self.switch.findData(project.settings.train.where)))
        settings = project.settings
        self.pool.submit(lambda task: place_training(settings, gpus), key="training-place",
                         done=self._placed)

    def _placed(self, placement: Placement) -> None:
        self.placement = placement
        self.label.setText(placement.text())
        self.label.setToolTip(placement.decision.reason if placement.decision else "")
