"""The open project's widgets (tabs, the pipeline sidebar, the log) bound to its RunModel.

Widgets redraw from the model, and only for the topics that changed since the last `flush`
(the window calls it every REFRESH_MS), so a burst of events costs one redraw.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from PySide6.QtWidgets import QLabel, QProgressBar, QTabWidget, QVBoxLayout, QWidget

from app.pipeline.errors import SpaceportError
from app.pipeline.project import Project
from app.viewer.crop import CropBox

from .charts import SfmCharts, TrainCharts
from .flight_panel import FlightPanel
from .log_panel import LogPanel
from .pool import BackgroundPool
from .run_model import RunModel
from .settings_panel import SettingsPanel
from .stage_list import StageList
from .training_place import TrainingPlace
from .viewer_panel import ViewerPanel


class ProjectPage:
    """Every panel of a project; `bind` a RunModel, then `flush` redraws what changed."""

    def __init__(self, pool: BackgroundPool, describe: Callable[[str, dict[str, Any]], str],
                 on_setting: Callable[[str, str], object], with_viewer: bool,
                 crop: CropBox) -> None:
        self.stage_list = StageList(describe=describe)
        self.project_label = self._label("projectLabel")
        self.stage_detail = self._label("stageDetail")
        self.training_place = TrainingPlace(pool)
        self.training_place.where_chosen.connect(lambda where: on_setting("train.where", where))
        self.flight = FlightPanel(pool)
        self.flight.exclude_changed.connect(
            lambda names: on_setting("ingest.exclude", json.dumps(names)))
        self.sfm_charts = SfmCharts()
        self.train_charts = TrainCharts()
        self.viewer = ViewerPanel(with_canvas=with_viewer, pool=pool, crop=crop)
        self.settings_panel = SettingsPanel(on_change=on_setting)
        self.log_panel = LogPanel()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(False)
        self.tabs = QTabWidget()
        for widget, title in ((self.flight, "Flight"), (self.sfm_charts, "Structure from Motion"),
                              (self.train_charts, "Training"), (self.viewer, "3D view"),
                              (self.settings_panel, "Settings")):
            self.tabs.addTab(widget, title)
        self.sidebar = QWidget()
        box = QVBoxLayout(self.sidebar)
        for widget, stretch in ((self.project_label, 0), (self.stage_list, 1),
                                (self.stage_detail, 0), (self.training_place, 0)):
            box.addWidget(widget, stretch)
        self.sidebar.setMinimumWidth(380)
        self.model = RunModel([])
        self.project: Project | None = None
        self.scene_failed: Callable[[SpaceportError], object] = lambda exc: None
        self._dirty: set[str] = set()
        self._views: dict[str, Callable[[], None]] = {
            "stages": self._refresh_stages,
            "progress": self._refresh_progress,
            "sfm": lambda: self.sfm_charts.refresh(self.model),
            "train": lambda: self.train_charts.refresh(self.model),
            "log": lambda: self.log_panel.refresh(self.model),
            "preview": lambda: self.load_scene(sparse=False),
        }
        self.stage_list.itemSelectionChanged.connect(self._refresh_stages)

    @staticmethod
    def _label(name: str) -> QLabel:
        label = QLabel()
        label.setObjectName(name)
        label.setWordWrap(True)
        return label

    def bind(self, model: RunModel, project: Project | None) -> None:
        """Show `model` (a new project's, or the start page's empty one) from now on."""
        self.model, self.project = model, project
        model.subscribe(self._mark)
        self._dirty.update(self._views)
        self.log_panel.reset()
        self.viewer.clear()

    def _mark(self, topic: str) -> None:
        self._dirty.add(topic)

    def flush(self) -> None:
        """Redraw the widgets whose model topics changed since the last flush."""
        if self.model.running:
            self._dirty.add("stages")  # the running stage's elapsed time
        dirty, self._dirty = self._dirty, set()
        for topic in dirty:
            self._views[topic]()

    def show_project(self, project: Project | None, editable: bool, note: str) -> None:
        """Redraw what depends on the project's files and settings."""
        self.project = project
        self.flight.load(project, editable=editable)
        self.settings_panel.show_settings(project.settings if project else None, editable=editable)
        self.training_place.show_for(project, editable=editable)
        if project is not None:
            self.project_label.setText(f"<b>{project.root.name}</b>{note}<br>"
                                       f"project: {project.root}<br>flight: {project.source or '-'}")

    def _refresh_stages(self) -> None:
        self.stage_list.refresh(self.model)
        self.stage_detail.setText(self.stage_list.detail(self.model))

    def _refresh_progress(self) -> None:
        view = self.model.stages.get(self.model.running or "")
        self.progress.setValue(int(1000 * view.fraction) if view else 0)

    def load_scene(self, sparse: bool) -> None:
        """Show the project's SfM model (when `sparse`) and its newest splats in the 3D tab."""
        if self.project is None:
            return
        try:
            self.viewer.show_project(self.project.paths, self.model.preview, sparse=sparse)
        except (SpaceportError, OSError, ValueError, RuntimeError) as exc:
            self.scene_failed(SpaceportError(f"Cannot show the 3D scene: {exc}",
                                             hint="the files may still be being written; "
                                                  "reopen the project to retry"))
