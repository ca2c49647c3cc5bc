"""Questions the window asks: which project folder to open, what to do with a run on close."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

CLOSE_CHOICES = {"background": "Keep running in the background", "cancel": "Cancel the run",
                 "stay": "Don't close"}
CLOUD_CLOSE_CHOICES = {"background": "Keep following in the background",
                       "cancel": "Stop following (the job runs on)", "stay": "Don't close"}


def ask_project(parent: QWidget) -> Path | None:
    """Ask for an existing project folder."""
    folder = QFileDialog.getExistingDirectory(parent, "Open a Spaceport project")
    return Path(folder) if folder else None


def ask_close_during_run(parent: QWidget, cloud: bool) -> str:
    """Ask what to do with a run when its window closes: 'background', 'cancel' or 'stay'.
    A cloud job runs on whatever the answer: only the cloud panel's confirmed Stop ends it."""
    box = QMessageBox(QMessageBox.Icon.Question, "Spaceport",
                      "A cloud job is being followed." if cloud else "A run is in progress.",
                      parent=parent)
    box.setObjectName("closeDuringRun")
    box.setInformativeText(
        "The job runs on in the cloud whatever you choose; reopening the project follows it "
        "again." if cloud else "It can go on without the window: reopening the project follows "
        "it again. Cancelling stops it at its next checkpoint; Run resumes it.")
    choices = CLOUD_CLOSE_CHOICES if cloud else CLOSE_CHOICES
    buttons = {box.addButton(text, QMessageBox.ButtonRole.AcceptRole): key
               for key, text in choices.items()}
    box.exec()
    return buttons.get(box.clickedButton(), "stay")


def ask_force_stop(parent: QWidget, what: str, waited_s: float, cloud: bool,
                   answered: Callable[[bool], None]) -> QMessageBox:
    """Ask (window-modal, without blocking) whether to end a run that ignored the clean stop;
    `answered(True)` on Force stop."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Spaceport",
                      f"The run has not stopped {waited_s:.0f} s after Cancel.", parent=parent)
    box.setObjectName("forceStop")
    box.setInformativeText(
        f"{what} is in a step that does not stop between units of work (a long native call "
        "such as global mapping), or its process does not answer. Force stop ends the process "
        "now: what it did since its last checkpoint is lost, and Run resumes from there."
        + (" The cloud job is not affected: it runs on, and Run follows it again." if cloud
           else ""))
    force = box.addButton("Force stop", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton("Keep waiting", QMessageBox.ButtonRole.RejectRole)
    box.finished.connect(lambda *_: answered(box.clickedButton() is force))
    box.open()
    return box
