"""The window's actions, menus and toolbar, and the file dialogs they open, in one place.

Other parts of the app add theirs through `menus` (e.g. `actions.menus["File"].addAction(...)`)
and `toolbar`; the window decides when each action is enabled (`update`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QMenu

from .dialogs import ask_project
from .new_project_dialog import NewProjectDialog
from .stage_list import stage_title

if TYPE_CHECKING:
    from .main_window import MainWindow


class WindowActions:
    """File and Run actions; "Run" runs until the stage chosen in "Stop after"."""

    def __init__(self, window: "MainWindow") -> None:
        self.window = window
        w = window
        self.new = self._action("New project from flight…", self.choose_flight, "Ctrl+N")
        self.open = self._action("Open project…", self.choose_project, "Ctrl+O")
        self.open_model = self._action("Open model…", self.choose_model, "Ctrl+Shift+O")
        self.close_project = self._action("Close project", w.show_start_page, "Ctrl+W")
        self.quit = self._action("Quit", w.close, "Ctrl+Q")
        self.run = self._action("Run", lambda: w.run_control.run_to_chosen_stage(), "F5")
        self.run.setToolTip("Run the pipeline (resuming what is not done) until the stage "
                            "chosen in Stop after")
        self.run_all = self._action("Run all", w.run)
        self.run_until = {name: self._action(f"Run until {stage_title(name)}",
                                             lambda n=name: w.run(until=n))
                          for name in w.stage_names[:-1]}
        self.rerun = self._action("Rerun from selected stage",
                                  lambda: w.run_control.rerun_selected(), "Shift+F5")
        self.cancel = self._action("Cancel", lambda: w.run_control.cancel(), "Esc")
        self.stop_after = QComboBox()
        self.stop_after.setObjectName("stopAfter")
        for name in w.stage_names:
            last = name == w.stage_names[-1]
            self.stop_after.addItem("everything" if last else stage_title(name), name)
        self.stop_after.setCurrentIndex(len(w.stage_names) - 1)
        self.stop_after.setToolTip("Run stops after this stage (e.g. SfM, to inspect the "
                                   "reconstruction before training)")
        self.menus: dict[str, QMenu] = {}
        self._menus()
        self.toolbar = w.addToolBar("Main")
        self.toolbar.setObjectName("mainToolbar")
        self.toolbar.addActions([self.new, self.open])
        self.toolbar.addSeparator()
        self.toolbar.addAction(self.run)
        self.toolbar.addWidget(QLabel(" Stop after: "))
        self.toolbar.addWidget(self.stop_after)
        self.toolbar.addActions([self.cancel, self.rerun])

    def _action(self, text: str, slot: Callable[[], object], key: str | None = None) -> QAction:
        act = QAction(text, self.window)
        act.triggered.connect(lambda *_: slot())
        if key:
            act.setShortcut(QKeySequence(key))
        return act

    def _menus(self) -> None:
        bar = self.window.menuBar()
        file_menu = self.menus["File"] = bar.addMenu("&File")
        file_menu.addActions([self.new, self.open, self.open_model, self.close_project])
        file_menu.addSeparator()
        file_menu.addAction(self.quit)
        run_menu = self.menus["Run"] = bar.addMenu("&Run")
        run_menu.addActions([self.run, self.run_all])
        until = run_menu.addMenu("Run until")
        until.addActions(list(self.run_until.values()))
        run_menu.addActions([self.rerun, self.cancel])

    def choose_flight(self, flight: Path | None = None) -> NewProjectDialog:
        """Open the New project dialog (on `flight` when given); creates the project on Create."""
        dialog = NewProjectDialog(self.window.pool, flight, parent=self.window)
        dialog.accepted.connect(lambda: self.window.new_project(*dialog.chosen()))
        dialog.open_project.connect(self.window.open_project)
        dialog.open()
        return dialog

    def choose_project(self) -> None:
        """Ask for an existing project folder and open it."""
        folder = ask_project(self.window)
        if folder:
            self.window.open_project(folder)

    def choose_model(self) -> None:
        """Ask for a model file and hand it to the registered model opener."""
        if self.window.model_opener is None:
            return
        path, _ = QFileDialog.getOpenFileName(self.window, "Open a splat model", "",
                                              "Splat models (*.ply *.splat *.spz *.sog meta.json)")
        if path:
            self.window.open_model(Path(path))

    def chosen_stage(self) -> str:
        """The stage chosen in "Stop after"."""
        return self.stop_after.currentData()

    def update(self, *, can_run: bool, busy: bool, can_stop: bool, selected: bool,
               cloud: bool, model_opener: bool, can_force: bool = False) -> None:
        """Enable what makes sense now; Cancel reads "Detach" while a cloud job is tracked, and
        "Force stop…" once a clean stop has gone unanswered too long."""
        for act in (self.run, self.run_all, *self.run_until.values()):
            act.setEnabled(can_run)
        self.stop_after.setEnabled(not busy)
        self.rerun.setEnabled(can_run and selected)
        self.cancel.setEnabled(can_stop or can_force)
        text, tip = (("Force stop…", "End the run's process now (asks first); Run resumes from "
                      "its last checkpoint") if can_force else
                     ("Detach", "Stop following the cloud job; it runs on and the project "
                      "reattaches when you run again") if cloud else
                     ("Cancel", "Stop the run at the next checkpoint; Run resumes it"))
        self.cancel.setText(text)
        self.cancel.setToolTip(tip)
        self.new.setEnabled(not busy)
        self.open.setEnabled(not busy)
        self.close_project.setEnabled(not busy and self.window.project is not None)
        self.open_model.setEnabled(model_opener)
