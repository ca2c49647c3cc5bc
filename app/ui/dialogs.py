"""Questions the window asks: which project folder to open, what to do with a run on close."""

from __future__ import annotations

from pathlib import Path

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
