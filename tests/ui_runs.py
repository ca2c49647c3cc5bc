"""Helpers for the window tests that run the real pipeline in a child process on the sample flight."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.pipeline.project import Project

RUN_MS = 180_000  # a stage on 2 busy CI cores
# a CPU training of a dozen steps on 64-px images and a compression without the render check:
# seconds, not minutes; the stages are the real ones
FAST = {"train.max_steps": "12", "train.metrics_every": "2", "train.sh_degree": "0",
        "train.checkpoint_every": "2", "train.checkpoint_every_s": "0", "train.eval_every": "0",
        "train.preview_every": "6", "train.cpu_max_side": "64", "train.cpu_max_gaussians": "2000",
        "compress.render_check": "false", "compress.sh_degree": "0"}
# a training still going when a test acts on it mid-run: 10x the steps that CI's fastest machine
# finished before a second window opened
MID_RUN = {"train.max_steps": "120"}


def fast_project(root: Path, flight: Path, **extra: str) -> Path:
    """A new project of `flight` with the FAST settings (and `extra`), saved, not locked."""
    return save_settings(Project.open(root, source=flight), {**FAST, **extra})


def copy_project(src: Path, dest: Path, **settings: str) -> Path:
    """A copy of a project folder with `settings` changed (stages they do not touch stay done)."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".lock"))
    return save_settings(Project.open(dest, create=False), settings)


def save_settings(project: Project, settings: dict[str, str]) -> Path:
    """Set and save `settings` in a project that is not locked; its folder."""
    for key, value in settings.items():
        project.settings.set(key, value)
    project.save()
    return project.root


def rows(win) -> dict[str, tuple[str, str]]:
    """{stage name: (state text, detail text)} as the stage list shows them."""
    from app.ui.stage_list import DETAIL, NAME, STAGE, STATE

    lst = win.stage_list
    return {lst.topLevelItem(i).data(STAGE, NAME): (lst.topLevelItem(i).text(STATE),
                                                    lst.topLevelItem(i).text(DETAIL))
            for i in range(lst.topLevelItemCount())}


def states(win) -> dict[str, str]:
    """{stage name: state} of the window's model."""
    return {name: view.state for name, view in win.model.stages.items()}


def answer_next_question(button_text: str, delay_ms: int = 50) -> None:
    """Click `button_text` in the next modal message box (the close-during-run question)."""
    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(delay_ms, click)
            return
        for button in box.buttons():
            if button.text() == button_text:
                button.click()
                return
        raise AssertionError(f"no button {button_text!r} in {[b.text() for b in box.buttons()]}")

    QTimer.singleShot(delay_ms, click)


def setting_editable(win, dotted: str) -> bool:
    """True when the Settings tab lets the operator edit `section.key`."""
    from PySide6.QtCore import Qt

    from app.ui.settings_panel import DOTTED

    tree = win.settings_panel
    for i in range(tree.topLevelItemCount()):
        top = tree.topLevelItem(i)
        for j in range(top.childCount()):
            if top.child(j).data(0, DOTTED) == dotted:
                return bool(top.child(j).flags() & Qt.ItemFlag.ItemIsEditable)
    raise KeyError(dotted)
