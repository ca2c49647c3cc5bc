"""Where training runs, always in view: the policy's decision and reason, and the switch that
sets `train.where`. The GPUs are listed by a `spaceport hardware --json` child (importing torch
here would hold the window's interpreter for a third of a second); the rest runs in the pool."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGroupBox, QLabel, QVBoxLayout, QWidget

from app.pipeline.cloud.approval import CostEstimate, estimate_offload
from app.pipeline.errors import SpaceportError
from app.pipeline.hardware import Decision, GpuInfo, cloud_configured, decide
from app.pipeline.project import Project
from app.pipeline.settings import Settings

from .child_run import spaceport_command
from .pool import BackgroundPool

CHOICES = {"auto": "Automatic", "local": "This computer", "cloud": "Cloud (SageMaker)"}


_probed: list[GpuInfo] | None = None  # GPUs do not change while the app runs: asked once


def probe_gpus() -> list[GpuInfo]:
    """The CUDA GPUs torch sees, asked of a `spaceport hardware --json` child process (once)."""
    global _probed
    if _probed is None:
        _probed = _ask_hardware()
    return _probed


def _ask_hardware() -> list[GpuInfo]:
    done = subprocess.run(spaceport_command("hardware", "--json"), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300)
    if done.returncode != 0:
        raise RuntimeError((done.stderr.strip().splitlines() or ["no output"])[-1])
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return [GpuInfo(g["index"], g["name"], tuple(g["compute_capability"]), g["memory_gib"])
            for g in data["gpus"]]


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
        """e.g. 'local GPU: NVIDIA A10G, 22 GiB' / 'cloud: ml.g5.xlarge, about $1.40 and 26 min'."""
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
        self.gpus: list[GpuInfo] | None = _probed  # None until the probe answered
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
        self._project: Project | None = None

    def show_for(self, project: Project | None, editable: bool) -> None:
        """Show where `project` would train (recomputed in the pool)."""
        self._project = project
        self.switch.setEnabled(editable and project is not None)
        if project is None:
            return
        self.switch.setCurrentIndex(max(0, self.switch.findData(project.settings.train.where)))
        settings, known = project.settings, self.gpus

        def work(task) -> tuple[list[GpuInfo], Placement]:
            gpus = known if known is not None else probe_gpus()
            return gpus, place_training(settings, gpus)

        self.pool.submit(work, key="training-place", done=self._placed, failed=self._probe_failed)

    def _placed(self, result: tuple[list[GpuInfo], Placement]) -> None:
        self.gpus, self.placement = result
        self.label.setText(self.placement.text())
        self.label.setToolTip(self.placement.decision.reason if self.placement.decision else "")

    def _probe_failed(self, exc: BaseException) -> None:
        self.gpus = []  # decide without GPUs, and say why
        self.label.setText(f"could not list the GPUs ({exc}); assuming none")
        if self._project is not None:
            self.show_for(self._project, self.switch.isEnabled())
