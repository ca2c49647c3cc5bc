"""The main window: a start page, then one project at a time as a front end over the pipeline.

The window never runs pipeline work itself: a run is a `spaceport process` child process
(run_controller.py), everything else that takes time goes to the one background pool
(`self.pool`), handed to every panel. Panels are bound to a `RunModel` fed by the run's events
and by the replay of logs/events.jsonl; they redraw at most every REFRESH_MS.

Other parts of the app hook in with `add_tab`, `actions.menus` / `actions.toolbar` and
`set_model_opener`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QLabel, QMainWindow, QMessageBox, QStackedWidget,
                               QWidget)

from app.pipeline.errors import SpaceportError
from app.pipeline.events import Log
from app.pipeline.project import Project
from app.viewer.crop import CropBox

from .cloud_panel import CloudPanel
from .dialogs import ask_close_during_run
from .event_tail import EventTail
from .export_dialog import ExportDialog
from .gpus import GpuProbe, known_gpus
from .hints import window_hint
from .pool import BackgroundPool
from .project_page import ProjectPage
from .recent import RecentProjects
from .results import ResultsView
from .run_controller import RunController
from .run_model import RunModel
from .start_page import StartPage
from .window_actions import WindowActions
from .window_runs import WindowRuns

REFRESH_MS = 100  # widgets redraw at most this often, however fast events arrive
PANELS = ("tabs", "stage_list", "stage_detail", "project_label", "training_place", "flight",
          "sfm_charts", "train_charts", "viewer", "settings_panel", "log_panel")


def _default_stages(gpus: list | None = None) -> list:
    """The registry's stages (names, summaries, fingerprints; the runs happen in child
    processes); training's fingerprint sees `gpus`, as listed by a child (torch is never
    imported here: its import alone holds the interpreter for seconds)."""
    from app.pipeline.stages import default_stages
    from app.pipeline.train.stage import TrainStage

    stages = default_stages()
    for stage in stages:
        if isinstance(stage, TrainStage):
            stage.detect = lambda: list(gpus or [])
    return stages


class MainWindow(QMainWindow):
    """Spaceport's window; `new_project`/`open_project`/`run` are what its actions call."""

    def __init__(self, with_viewer: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("Spaceport")
        self.resize(1280, 800)
        self.setAcceptDrops(True)
        self.pool = BackgroundPool(parent=self)
        self.pool.unhandled = lambda exc: self.show_error(SpaceportError(
            f"A background task failed: {type(exc).__name__}: {exc}"), modal=False)
        self._stage_info = {s.name: s for s in _default_stages()}
        self.stage_names = list(self._stage_info)
        self.project: Project | None = None
        self.holds_lock = False
        self.model = RunModel(self.stage_names)
        self.runs = RunController(self)
        self.tail: EventTail | None = None
        self.recent = RecentProjects()
        self.model_opener: Callable[[Path], None] | None = None
        self.error_box: QMessageBox | None = None
        self.close_when_done = False
        self.crop_box = CropBox()  # one box: the 3D view's handles and the export dialog
        self.start_page = StartPage(self.pool)
        self.page = ProjectPage(self.pool, lambda name, out: self._stage_info[name].summary(out),
                                self.change_setting, with_viewer, self.crop_box)
        self.page.scene_failed = lambda exc: self.show_error(exc, modal=False)
        for name in PANELS:  # the other parts of the app (and tests) reach the panels here
            setattr(self, name, getattr(self.page, name))
        self._layout()
        self.actions = WindowActions(self)
        self.run_control = WindowRuns(self)
        self._results_and_cloud()
        self.start_page.new_requested.connect(self.actions.choose_flight)
        self.start_page.open_requested.connect(self.actions.choose_project)
        self.start_page.model_requested.connect(self.actions.choose_model)
        self.stage_list.itemSelectionChanged.connect(self._update_actions)
        self.page.bind(self.model, None)
        self.set_model_opener(self.viewer.open_model)
        self.viewer.set_exporter(self.export)  # 'Export cropped…' opens the export dialog
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.flush)
        self._timer.start()
        self.gpu_probe = GpuProbe(self)
        self.gpu_probe.listed.connect(self._gpus_listed)
        self.gpu_probe.start()  # a child lists them while the operator chooses a project
        self.show_start_page()

    # -- construction --------------------------------------------------------------------------
    def _layout(self) -> None:
        start = self.start_page
        start.recent_chosen.connect(self.open_project)
        start.sample_ready.connect(self.new_project)
        start.failed.connect(self.show_error)
        self.pages = QStackedWidget()
        self.pages.addWidget(start)
        self.pages.addWidget(self.page.tabs)
        self.setCentralWidget(self.pages)
        self.pipeline_dock = self._dock("Pipeline", self.page.sidebar,
                                        Qt.DockWidgetArea.LeftDockWidgetArea)
        self.log_dock = self._dock("Log", self.page.log_panel,
                                   Qt.DockWidgetArea.BottomDockWidgetArea)
        self.resizeDocks([self.log_dock], [130], Qt.Orientation.Vertical)
        self.status_text = QLabel("ready")
        self.statusBar().addWidget(self.status_text, 1)
        self.statusBar().addPermanentWidget(self.page.progress)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock{title}")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(area, dock)
        return dock

    def _results_and_cloud(self) -> None:
        """The Results and Cloud tabs and File > Export (issue 13), fed by the runs' events."""
        self.results = ResultsView(self.pool)
        self.cloud_panel = CloudPanel(self.pool, self.change_setting, self._start_cloud_run)
        self.add_tab(self.results, "Results")
        self.add_tab(self.cloud_panel, "Cloud")
        for panel in (self.results, self.cloud_panel):
            self.runs.events.connect(panel.take_events)
            self.runs.ended.connect(lambda outcome, p=panel: p.take_events(outcome.events))
        self.export_dialog: ExportDialog | None = None
        self.export_action = QAction("Export splats…", self)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.triggered.connect(lambda *_: self.export())
        self.actions.menus["File"].insertAction(self.actions.close_project, self.export_action)

    def _start_cloud_run(self, approved: bool) -> bool:
        """The cloud panel's run: with its approval (`--yes`), or following a job already
        going without asking anything (a run that would launch a new job then stops unapproved)."""
        return self.run(approved=True) if approved else self.run_control.follow_cloud_job()

    def export(self) -> ExportDialog | None:
        """Open the export dialog on the project's trained splats (the export runs as a child
        process; it reads finished outputs, so it works while a run holds the project)."""
        if self.project is None:
            return None
        if self.export_dialog is None or self.export_dialog.project is not self.project:
            self.export_dialog = ExportDialog(self.project, self.pool, self.crop_box, parent=self)
        self.export_dialog.show()
        self.export_dialog.raise_()
        return self.export_dialog

    def add_tab(self, widget: QWidget, title: str) -> int:
        """Add a project tab (the viewer's and the cloud panel's hook); returns its index."""
        return self.tabs.addTab(widget, title)

    def set_model_opener(self, opener: Callable[[Path], None]) -> None:
        """Let Open model… hand the chosen file to `opener` (the 3D view registers it)."""
        self.model_opener = opener
        self.start_page.model_button.setEnabled(True)
        self._update_actions()

    def open_model(self, path: Path) -> None:
        """Show a model file in the 3D tab through the registered opener (no project needed)."""
        if self.model_opener is None:
            return
        self.pages.setCurrentWidget(self.tabs)
        self.tabs.setCurrentWidget(self.viewer)
        self.model_opener(Path(path))

    # -- pages and projects --------------------------------------------------------------------
    def show_start_page(self) -> None:
        """Close the project (unless this window's run is going) and show the start page."""
        if self.runs.own:
            return
        self.runs.detach()
        self.close_project()
        self.start_page.show_recent(self.recent.list())
        self.pages.setCurrentWidget(self.start_page)
        for dock in (self.pipeline_dock, self.log_dock):
            dock.hide()
        self.setWindowTitle("Spaceport")
        self.status("no project open")
        self._update_actions()

    def new_project(self, flight: Path, root: Path) -> bool:
        """Create (or reopen) the project of a flight folder and show it."""
        flight, root = Path(flight), Path(root)
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
            project = Project.open(Path(root), create=False)
        except SpaceportError as exc:
            return self.show_error(exc)
        return self._show_project(project)

    def _show_project(self, project: Project) -> bool:
        if self.runs.own:
            return self.show_error(SpaceportError("A run is in progress",
                                                  hint="cancel it or wait before switching project"))
        self.runs.detach()  # stop following another process's run (it goes on)
        self.close_project()
        self.project = project
        self.model = RunModel(self.stage_names, root=project.root)
        self.page.bind(self.model, project)
        self.tail = EventTail(project.paths.events)
        replayed = self.tail.read_new()
        self.model.replay(replayed)
        opened = self.runs.take(project, self.tail)
        self.holds_lock = opened.locked
        for event in opened.events:
            self.model.apply(event)
        if opened.lock_error is not None:
            self.show_error(opened.lock_error, modal=False)
            self.model.apply(Log(stage="app", text="read-only: following that process's log"))
        if opened.following_run:
            self.status(f"following the run of process {self.runs.pid}; Cancel stops it")
        if opened.locked:
            self._runner_states()
        self.model.load_records(project.stages)
        for stage in _default_stages(known_gpus()):
            warning = stage.input_warning(project)  # e.g. the flight folder's drive is gone
            if warning:
                self.model.apply(Log(stage=stage.name, level="warning", text=warning))
        self.page.load_scene(sparse=True)
        self.results.load(project)
        self.cloud_panel.open_project(project, self.model, replayed + list(opened.events))
        self.recent.add(project.root)
        self.pages.setCurrentWidget(self.tabs)
        for dock in (self.pipeline_dock, self.log_dock):
            dock.show()
        self.project_changed()
        self.setWindowTitle(f"Spaceport - {project.root.name}")
        if not self.busy:
            self.status(f"opened {project.root}")
        self.flush()
        return True

    def _runner_states(self) -> None:
        """Let the runner mark stale stages (needs the lock; project.json is rewritten); waits
        for the GPU list, which where training runs, and so its fingerprint, depends on."""
        from app.pipeline.runner import Runner

        gpus = known_gpus()
        if gpus is None:
            return  # the states follow when the GPUs are listed
        try:
            Runner(self.project, _default_stages(gpus), emit=lambda e: None).refresh_states()
        except SpaceportError as exc:
            self.show_error(exc, modal=False)

    def _gpus_listed(self, gpus: list) -> None:
        if self.gpu_probe.error:
            self.model.apply(Log(stage="app", level="warning", text="could not list the GPUs "
                                 f"({self.gpu_probe.error}); deciding as if there were none"))
        if self.project is not None and self.holds_lock and not self.busy:
            self._runner_states()
            self.model.load_records(self.project.stages)
        self.training_place.show_for(self.project, self.holds_lock and not self.busy)

    def project_changed(self) -> None:
        """Redraw what depends on the project's files and settings."""
        running = self.runs.own or self.model.running
        note = "" if self.holds_lock else " (running)" if running else " (read-only)"
        self.page.show_project(self.project, self.holds_lock and not self.busy, note)
        self.cloud_panel.set_state(editable=self.holds_lock and not self.busy)
        self._update_actions()

    def close_project(self) -> None:
        """Release the project's lock and forget it."""
        if self.project is not None and self.holds_lock:
            self.project.unlock()
        if self.export_dialog is not None:
            self.export_dialog.dispose()  # cancels a running export
            self.export_dialog = None
        self.project, self.holds_lock = None, False
        self._update_actions()

    @property
    def read_only(self) -> bool:
        """True while the window does not hold the open project's lock (a run or another window)."""
        return not self.holds_lock

    def change_setting(self, dotted: str, text: str) -> bool:
        """Set `section.key` as `--set` does, save, and mark what it invalidates stale."""
        project = self.project
        if project is None:
            return False
        ok = False
        try:
            if not self.holds_lock or self.busy:
                raise SpaceportError("Settings cannot change now",
                                     hint="wait for the run to end (or close the other window)")
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
        QTimer.singleShot(0, self.project_changed)
        return ok

    # -- running -------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while a run is going (started here or followed)."""
        return self.runs.busy

    def run(self, until: str | None = None, from_stage: str | None = None,
            approved: bool = False) -> bool:
        """Run the pipeline until `until` (None: all), or rerun from `from_stage`; `approved`:
        the cloud cost was approved already (see WindowRuns.run)."""
        return self.run_control.run(until, from_stage, approved)

    # -- view updates --------------------------------------------------------------------------
    def flush(self) -> None:
        """Redraw the widgets whose model topics changed since the last flush."""
        self.page.flush()
        self.run_control.say_if_stuck()
        self._update_actions()

    def _update_actions(self) -> None:
        self.actions.update(can_run=self.project is not None and self.holds_lock and not self.busy,
                            busy=self.busy, can_stop=self.runs.can_stop,
                            can_force=self.runs.can_force,
                            selected=self.stage_list.selected_stage() is not None,
                            cloud=self.run_control.cloud_tracked(),
                            model_opener=self.model_opener is not None)
        self.export_action.setEnabled(self.project is not None)

    def status(self, text: str) -> None:
        """Say `text` in the status bar."""
        self.status_text.setText(text)

    def show_error(self, exc: SpaceportError, modal: bool = True, details: str = "") -> bool:
        """Put an operator-facing error in the log and status bar (and a dialog); returns False."""
        hint = window_hint(exc.hint, exc.action)
        info = "\n".join(x for x in (f"file: {exc.path}" if exc.path and exc.path not in
                                      exc.message else "", f"fix: {hint}" if hint else "") if x)
        self.model.apply(Log(stage="app", level="error", text=f"{exc.message}\n{info}".strip()))
        self.status(exc.message)
        if modal:
            self.error_box = QMessageBox(QMessageBox.Icon.Warning, "Spaceport", exc.message,
                                         parent=self)
            self.error_box.setInformativeText(info)
            if details:
                self.error_box.setDetailedText(details)
            self.error_box.open()  # window-modal, does not block the event loop
        self.flush()
        return False

    # -- drops and closing ---------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        """Accept a dropped local folder (a flight to start a project from)."""
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and Path(urls[0].toLocalFile()).is_dir():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        """A folder dropped on the window: open it if it is a project, else start one from it."""
        folder = Path(event.mimeData().urls()[0].toLocalFile())
        event.acceptProposedAction()
        if (folder / "project.json").is_file():
            self.open_project(folder)
        elif not self.busy:
            self.actions.choose_flight(folder)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Closing during a run asks: keep it running in the background, cancel it, or stay."""
        if self.runs.own and not self.close_when_done:
            choice = ask_close_during_run(self, self.run_control.cloud_tracked())
            if choice == "stay":
                event.ignore()
                return
            if choice == "cancel":
                self.close_when_done = True
                self.run_control.cancel()
                event.ignore()
                return
        if self.runs.own and self.close_when_done and self.busy:
            event.ignore()  # still stopping: the window closes when the run has ended
            return
        self.shutdown(stop_run=False)
        super().closeEvent(event)

    def shutdown(self, stop_run: bool = True) -> None:
        """Leave the project: stop a run this window started (or leave it going), stop
        following any other, wait for the pool, release the lock."""
        if self.runs.own and stop_run:
            self.runs.stop()
            self.runs.wait_ended(120)
        if self.busy:
            self.runs.detach()
        self._timer.stop()
        self.gpu_probe.stop()
        for dialog in self.findChildren(ExportDialog):  # cancelled exports still ending
            dialog.wait_ended(10)
        self.pool.cancel_all()
        self.pool.wait_idle(10_000)
        self.close_project()
