"""The main window: a front end over the pipeline runner for one project folder at a time.

Open a flight folder (a new project) or an existing project; the stage list shows project.json's
states; Run / Cancel / Rerun-from drive `Runner` in the one worker; charts, log and 3D view are
bound to a `RunModel` fed by live events and by the replay of logs/events.jsonl (followed live
while another process, such as `spaceport process`, holds the project).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QLabel, QMainWindow, QMessageBox,
                               QProgressBar, QTabWidget, QVBoxLayout, QWidget)

from app.pipeline.errors import SpaceportError
from app.pipeline.events import Event, Log, StageFinished
from app.pipeline.project import Project
from app.pipeline.stage import Stage
from app.viewer.crop import CropBox

from .charts import SfmCharts, TrainCharts
from .cloud_panel import CloudPanel
from .dialogs import ask_new_project, ask_project
from .event_tail import EventTail
from .export_dialog import ExportDialog
from .flight_panel import FlightPanel
from .jobs import run_stages
from .log_panel import LogPanel
from .pool import BackgroundPool
from .results import ResultsView
from .run_model import RunModel
from .settings_panel import SettingsPanel
from .stage_list import StageList
from .viewer_panel import ViewerPanel
from .worker import PipelineWorker

REFRESH_MS = 100  # widgets redraw at most this often, however fast events arrive


def _default_stages() -> list[Stage]:
    """The registry's stages (imported late: the registry imports every stage's code)."""
    from app.pipeline.stages import default_stages

    return default_stages()


class MainWindow(QMainWindow):
    """Spaceport's window; `open_project`/`new_project` are what the File actions call."""

    def __init__(self, stages: Callable[[], Sequence[Stage]] | None = None,
                 with_viewer: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("Spaceport")
        self.resize(1280, 800)
        self._make_stages = stages or _default_stages
        self._stage_info = {s.name: s for s in self._make_stages()}  # names and summaries only
        self.stage_names = list(self._stage_info)
        self.project: Project | None = None
        self.read_only = False
        self.worker: PipelineWorker | None = None
        self.model = RunModel(self.stage_names)
        self._dirty: set[str] = set()
        self.error_box: QMessageBox | None = None
        self._close_when_done = False
        self.tail: EventTail | None = None
        self.export_dialog: ExportDialog | None = None

        self.stage_list = StageList(
            describe=lambda name, outputs: self._stage_info[name].summary(outputs))
        self.project_label = QLabel("No project open. File > New project from a flight folder, "
                                    "or File > Open project.")
        self.project_label.setObjectName("projectLabel")
        self.project_label.setWordWrap(True)
        self.stage_detail = QLabel()
        self.stage_detail.setObjectName("stageDetail")
        self.stage_detail.setWordWrap(True)
        self.flight = FlightPanel()
        self.sfm_charts = SfmCharts()
        self.train_charts = TrainCharts()
        self.pool = BackgroundPool(parent=self)
        self.crop_box = CropBox()  # one box: the 3D view's handles and the export dialog
        self.viewer = ViewerPanel(with_canvas=with_viewer, pool=self.pool, crop=self.crop_box)
        self.settings_panel = SettingsPanel(on_change=self.change_setting)
        self.log_panel = LogPanel()
        self.results = ResultsView(self.pool)
        self.cloud_panel = CloudPanel(self.pool, on_change=self.change_setting,
                                      start_run=lambda approved: self.run(approved=approved))
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(False)
        self._layout()
        self._actions()
        self.model.subscribe(self._mark)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.flush)
        self._timer.start()
        self._bind_model()
        self._update_actions()

    # -- construction --------------------------------------------------------------------------
    def _layout(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.addTab(self.flight, "Flight")
        self.tabs.addTab(self.sfm_charts, "Structure from Motion")
        self.tabs.addTab(self.train_charts, "Training")
        self.tabs.addTab(self.viewer, "3D view")
        self.tabs.addTab(self.results, "Results")
        self.tabs.addTab(self.cloud_panel, "Cloud")
        self.tabs.addTab(self.settings_panel, "Settings")
        self.setCentralWidget(self.tabs)
        left = QWidget()
        box = QVBoxLayout(left)
        box.addWidget(self.project_label)
        box.addWidget(self.stage_list, 1)
        box.addWidget(self.stage_detail)
        left.setMinimumWidth(300)
        self._dock("Pipeline", left, Qt.DockWidgetArea.LeftDockWidgetArea)
        self._dock("Log", self.log_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.status_text = QLabel("ready")
        self.statusBar().addWidget(self.status_text, 1)
        self.statusBar().addPermanentWidget(self.progress)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> None:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock{title}")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(area, dock)

    def _actions(self) -> None:
        def action(text: str, slot: Callable[[], object], key: str | None = None) -> QAction:
            act = QAction(text, self)
            act.triggered.connect(lambda *_: slot())
            if key:
                act.setShortcut(QKeySequence(key))
            return act

        self.new_action = action("New project from flight…", self.choose_flight, "Ctrl+N")
        self.open_action = action("Open project…", self.choose_project, "Ctrl+O")
        self.open_model_action = action("Open model…", self.viewer.choose_model, "Ctrl+Shift+O")
        self.run_action = action("Run", self.run, "F5")
        self.cancel_action = action("Cancel", self.cancel, "Esc")
        self.rerun_action = action("Rerun from selected stage", self.rerun_selected, "Shift+F5")
        self.export_action = action("Export splats…", self.export, "Ctrl+E")
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addActions([self.new_action, self.open_action, self.open_model_action,
                              self.export_action])
        file_menu.addSeparator()
        file_menu.addAction(action("Quit", self.close, "Ctrl+Q"))
        self.menuBar().addMenu("&Run").addActions([self.run_action, self.cancel_action,
                                                   self.rerun_action])
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.addActions([self.new_action, self.open_action])
        toolbar.addSeparator()
        toolbar.addActions([self.run_action, self.cancel_action, self.rerun_action])
        self.stage_list.itemSelectionChanged.connect(self._update_actions)
        self.stage_list.itemSelectionChanged.connect(self._refresh_stages)

    # -- projects ------------------------------------------------------------------------------
    def choose_flight(self) -> None:
        """Ask for a flight folder and where its project goes, then create the project."""
        chosen = ask_new_project(self)
        if chosen:
            self.new_project(*chosen)

    def choose_project(self) -> None:
        """Ask for an existing project folder and open it."""
        folder = ask_project(self)
        if folder:
            self.open_project(folder)

    def new_project(self, flight: Path, root: Path) -> bool:
        """Create (or reopen) the project of a flight folder and show it."""
        if not flight.is_dir():
            return self.show_error(SpaceportError(
                f"Flight folder {flight} does not exist or is not a folder",
                hint="choose the folder that holds the drone images", path=flight))
        try:
            project = Project.open(root, source=flight)
        except SpaceportError as exc:
            return self.show_error(exc)
        return self._show_project(project)

    def open_project(self, root: Path) -> bool:
        """Open an existing project folder, replaying its event log into the charts."""
        try:
            project = Project.open(root, create=False)
        except SpaceportError as exc:
            return self.show_error(exc)
        return self._show_project(project)

    def _show_project(self, project: Project) -> bool:
        if self.busy:
            return self.show_error(SpaceportError("A run is in progress",
                                                  hint="cancel it or wait before switching project"))
        self.close_project()
        self.project, self.read_only = project, False
        self.model = RunModel(self.stage_names, root=project.root)
        self.model.subscribe(self._mark)
        self.log_panel.reset()
        self.viewer.clear()
        self.tail = EventTail(project.paths.events)
        events = self.tail.read_new()
        self.model.replay(events)
        self.cloud_panel.replay(events)
        try:
            project.lock()
        except SpaceportError as exc:
            self.read_only = True
            self.show_error(exc, modal=False)
            self.model.apply(Log(stage="app", text="read-only: following that run's event log"))
        else:
            self._runner_states()
        self.model.load_records(project.stages)
        self._load_scene(sparse=True)
        self.flight.load(project.paths)
        self.results.load(project)
        self.cloud_panel.show_project(project, editable=not self.read_only)
        self.settings_panel.show_settings(project.settings, editable=not self.read_only)
        self.project_label.setText(
            f"<b>{project.root.name}</b>{' (read-only)' if self.read_only else ''}<br>"
            f"project: {project.root}<br>flight: {project.source or '-'}")
        self.setWindowTitle(f"Spaceport - {project.root.name}")
        self._status(f"opened {project.root}")
        self._update_actions()
        self.flush()
        return True

    def _runner_states(self) -> None:
        """Let the runner mark stale stages (needs the lock; project.json is rewritten)."""
        from app.pipeline.runner import Runner

        try:
            Runner(self.project, self._make_stages(), emit=lambda e: None).refresh_states()
        except SpaceportError as exc:
            self.show_error(exc, modal=False)

    def export(self) -> ExportDialog | None:
        """Open the export dialog on the project's trained splats (work runs in the pool)."""
        if self.project is None:
            return None
        if self.export_dialog is None or self.export_dialog.project is not self.project:
            self.export_dialog = ExportDialog(self.project, self.pool, self.crop_box, parent=self)
        self.export_dialog.show()
        self.export_dialog.raise_()
        return self.export_dialog

    def close_project(self) -> None:
        """Release the project's lock and forget it."""
        if self.project is not None and not self.read_only:
            self.project.unlock()
        if self.export_dialog is not None:
            self.export_dialog.close()
            self.export_dialog = None
        self.project = None
        self._update_actions()

    def change_setting(self, dotted: str, text: str) -> bool:
        """Set `section.key` as `--set` does, save, and mark what it invalidates stale."""
        project = self.project
        if project is None:
            return False
        ok = False
        try:
            if self.read_only or self.busy:
                raise SpaceportError("Settings cannot change now",
                                     hint="wait for the run to end (or close the other process)")
            project.settings.set(dotted, text)
        except SpaceportError as exc:
            self.show_error(exc)
        else:
            project.save()
            self._runner_states()
            self.model.load_records(project.stages)
            self.model.apply(Log(stage="app", text=f"setting {dotted} = {text}"))
            ok = True
        # redraw after Qt has finished the edit: shows the stored (or restored) value
        QTimer.singleShot(0, lambda: self.settings_panel.show_settings(
            project.settings, editable=not self.read_only))
        return ok

    # -- running -------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while a run is in progress."""
        return self.worker is not None

    def run(self, from_stage: str | None = None, until: str | None = None,
            approved: bool = False) -> bool:
        """Run the pipeline (resuming what is not done), or rerun from `from_stage` on;
        `approved`: the user approved the cloud cost estimate (the cloud panel asked)."""
        if self.project is None or self.read_only or self.busy:
            return False
        if self.project.source is None:
            return self.show_error(SpaceportError(f"Project {self.project.root} has no flight folder",
                                                  hint="create it with New project from flight"))
        project, stages = self.project, list(self._make_stages())
        worker = PipelineWorker(lambda emit, cancel: run_stages(project, stages, emit, cancel,
                                                                from_stage=from_stage,
                                                                until=until, approved=approved))
        worker.event.connect(self._on_event)
        worker.returned.connect(self._on_returned)
        worker.errored.connect(self._on_errored)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self._status(f"running from {from_stage}" if from_stage else "running")
        self._update_actions()
        worker.start()
        return True

    def cancel(self) -> None:
        """Ask the running stage to stop at its next checkpoint (it stays resumable)."""
        if self.worker is not None:
            self.worker.cancel()
            self._status("cancelling…")

    def rerun_selected(self) -> bool:
        """Rerun from the stage selected in the stage list."""
        stage = self.stage_list.selected_stage()
        return self.run(from_stage=stage) if stage else False

    def _on_event(self, event: Event) -> None:
        self.model.apply(event)
        self.cloud_panel.apply(event)
        if isinstance(event, StageFinished) and not event.skipped:
            if event.stage == "ingest":
                self.flight.load(self.project.paths)
            self._load_scene(sparse=event.stage == "sfm")
            if event.stage in ("train", "compress"):
                self.results.load(self.project)

    def _on_returned(self, ok: object) -> None:
        self._status("finished" if ok else "stopped: see the stage list and the log")

    def _on_errored(self, exc: object) -> None:
        self.show_error(exc if isinstance(exc, SpaceportError) else
                        SpaceportError(f"{type(exc).__name__}: {exc}"))

    def _on_finished(self) -> None:
        if self.worker is not None:
            self.worker.wait()  # `finished` comes from the thread just before it ends
        self.worker = None
        if self.project is not None:
            self.model.load_records(self.project.stages)
        self._update_actions()
        self.flush()
        if self._close_when_done:
            self.close()

    # -- view updates --------------------------------------------------------------------------
    def _bind_model(self) -> None:
        self._views: dict[str, Callable[[], None]] = {
            "stages": self._refresh_stages,
            "progress": self._refresh_progress,
            "sfm": lambda: self.sfm_charts.refresh(self.model),
            "train": lambda: (self.train_charts.refresh(self.model),
                              self.cloud_panel.refresh_charts(self.model)),
            "log": lambda: self.log_panel.refresh(self.model),
            "preview": lambda: self._load_scene(sparse=False),
        }
        self._dirty.update(self._views)

    def flush(self) -> None:
        """Redraw the widgets whose model topics changed since the last flush."""
        if self.read_only and self.tail is not None:
            for event in self.tail.read_new():  # another process is running this project
                self.model.apply(event)
                self.cloud_panel.apply(event)
        dirty, self._dirty = self._dirty, set()
        for topic in dirty:
            self._views[topic]()

    def _mark(self, topic: str) -> None:
        self._dirty.add(topic)

    def _refresh_stages(self) -> None:
        self.stage_list.refresh(self.model)
        self.stage_detail.setText(self.stage_list.detail(self.model))

    def _refresh_progress(self) -> None:
        view = self.model.stages.get(self.model.running or "")
        self.progress.setValue(int(1000 * view.fraction) if view else 0)
        if view and view.message:
            self.status_text.setText(f"{view.name}: {view.message}")

    def _load_scene(self, sparse: bool) -> None:
        if self.project is None:
            return
        try:
            self.viewer.show_project(self.project.paths, self.model.preview, sparse=sparse)
        except (SpaceportError, OSError, ValueError, RuntimeError) as exc:
            self.show_error(SpaceportError(f"Cannot show the 3D scene: {exc}",
                                           hint="the files may still be being written; "
                                                "reopen the project to retry"), modal=False)

    def _update_actions(self) -> None:
        can_run = self.project is not None and not self.read_only and not self.busy
        self.run_action.setEnabled(can_run)
        self.export_action.setEnabled(self.project is not None)
        self.cloud_panel.set_busy(self.busy)
        self.rerun_action.setEnabled(can_run and self.stage_list.selected_stage() is not None)
        self.cancel_action.setEnabled(self.busy)
        self.new_action.setEnabled(not self.busy)
        self.open_action.setEnabled(not self.busy)

    def _status(self, text: str) -> None:
        self.status_text.setText(text)

    def show_error(self, exc: SpaceportError, modal: bool = True) -> bool:
        """Put an operator-facing error in the log and status bar (and a dialog); returns False."""
        self.model.apply(Log(stage="app", level="error", text=exc.render()))
        self._status(exc.message)
        if modal:
            self.error_box = QMessageBox(QMessageBox.Icon.Warning, "Spaceport", exc.message,
                                         parent=self)
            self.error_box.setInformativeText(exc.render()[len(exc.message):].strip())
            self.error_box.open()  # window-modal, does not block the event loop
        self.flush()
        return False

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Closing during a run cancels it and closes once the stage has stopped (resumably)."""
        if self.worker is not None:
            self.worker.cancel()
            self._close_when_done = True
            self._status("stopping the run; the window closes when the stage reaches a checkpoint")
            event.ignore()
            return
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Cancel any run, wait for the worker to stop, and release the project lock."""
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait()
        self._timer.stop()
        self.pool.cancel_all()
        self.pool.wait_idle(10_000)
        self.close_project()
