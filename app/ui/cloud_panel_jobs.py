"""The cloud panel's jobs list: the project's SageMaker jobs from cloud/jobs.json, each running
one with its own Stop button (the panel confirms before anything is stopped)."""

from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from app.pipeline.cloud.records import JobRecord

from .cloud_panel_model import job_row

COLUMNS = ("Job", "Kind", "Status", "Started", "Running", "")


class JobsList(QWidget):
    """A table of job records; `stop(name)` is called by a row's Stop button."""

    def __init__(self, stop: Callable[[str], None], refresh: Callable[[], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._stop = stop
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setMinimumHeight(110)
        header = self.tree.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.stop_buttons: dict[str, QPushButton] = {}
        self.refresh_button = QPushButton("Refresh from AWS")
        self.refresh_button.setToolTip("ask SageMaker for the state of the running jobs")
        self.refresh_button.clicked.connect(refresh)
        self.note = QLabel("No cloud jobs yet.")
        bar = QHBoxLayout()
        bar.addWidget(self.note, 1)
        bar.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.tree, 1)

    def show_jobs(self, records: list[JobRecord]) -> None:
        """Show `records` newest first; running ones get a Stop button."""
        self.tree.clear()
        self.stop_buttons.clear()
        for job in reversed(records):
            item = QTreeWidgetItem(list(job_row(job)))
            item.setToolTip(2, job.failure_reason or job.status)
            self.tree.addTopLevelItem(item)
            if job.active:
                button = QPushButton("Stop…")
                button.setToolTip(f"stop the paid SageMaker job {job.name} (asks first)")
                button.clicked.connect(lambda _=False, name=job.name: self._stop(name))
                self.tree.setItemWidget(item, len(COLUMNS) - 1, button)
                self.stop_buttons[job.name] = button
        running = len(self.stop_buttons)
        self.note.setText(f"{len(records)} job(s) in cloud/jobs.json, {running} running"
                          if records else "No cloud jobs yet.")

    def rows(self) -> list[list[str]]:
        """The table's text, top to bottom (what the operator reads)."""
        return [[self.tree.topLevelItem(i).text(c) for c in range(len(COLUMNS) - 1)]
                for i in range(self.tree.topLevelItemCount())]
