"""New project: a flight folder and where its project goes. The flight is checked in the
background pool as soon as it is chosen, and Create stays disabled (with the reason shown) for a
folder without usable images."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QWidget)

from .flight_check import FlightCheck, check_flight_folder
from .pool import BackgroundPool


def default_project_folder(flight: Path) -> Path:
    """`<flight>-project` beside the flight folder."""
    return flight.parent / f"{flight.name}-project"


class NewProjectDialog(QDialog):
    """Asks for (flight folder, project folder); `chosen()` once accepted. A project folder
    chosen as the flight is refused with a button that opens it instead (`open_project`)."""

    open_project = Signal(object)  # Path of the project the operator chose to open instead

    def __init__(self, pool: BackgroundPool, flight: Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New project from a flight")
        self.setObjectName("newProjectDialog")
        self.pool = pool
        self.check: FlightCheck | None = None
        self._auto_project = ""  # the project folder we proposed (replaced when the flight changes)
        self.flight_edit = QLineEdit()
        self.flight_edit.setPlaceholderText("the folder that holds the drone's photos")
        self.project_edit = QLineEdit()
        self.status = QLabel("Choose the flight folder.")
        self.status.setObjectName("flightCheck")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create = self.buttons.addButton("Create project",
                                             QDialogButtonBox.ButtonRole.AcceptRole)
        self.create.setEnabled(False)
        self.open_instead = self.buttons.addButton("Open it as a project",
                                                   QDialogButtonBox.ButtonRole.ActionRole)
        self.open_instead.hide()
        self.open_instead.clicked.connect(self._open_instead)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Flight folder", self._with_browse(self.flight_edit, self._browse_flight))
        form.addRow("Project folder", self._with_browse(self.project_edit, self._browse_project))
        form.addRow(self.status)
        form.addRow(self.buttons)
        self.flight_edit.editingFinished.connect(self._flight_changed)
        self.project_edit.textChanged.connect(self._update_create)
        self.resize(640, self.sizeHint().height())
        if flight is not None:
            self.set_flight(flight)

    def _with_browse(self, edit: QLineEdit, browse) -> QWidget:
        row = QWidget()
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(edit, 1)
        button = QPushButton("Browse…")
        button.clicked.connect(browse)
        box.addWidget(button)
        return row

    def _browse_flight(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Flight folder (drone images)",
                                                  self.flight_edit.text())
        if folder:
            self.set_flight(Path(folder))

    def _browse_project(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Where to keep the project",
                                                  self.project_edit.text())
        if folder:
            self.project_edit.setText(folder)

    def set_flight(self, flight: Path) -> None:
        """Choose the flight folder, propose its project folder and check it."""
        self.flight_edit.setText(str(flight))
        self._flight_changed()

    def _flight_changed(self) -> None:
        text = self.flight_edit.text().strip()
        if not text:
            return
        flight = Path(text).expanduser()
        if self.project_edit.text() in ("", self._auto_project):
            self._auto_project = str(default_project_folder(flight))
            self.project_edit.setText(self._auto_project)
        self.check = None
        self.open_instead.hide()
        self.status.setText(f"Checking {flight.name}…")
        self._update_create()
        self.pool.submit(lambda task: check_flight_folder(flight, cancelled=lambda: task.cancelled),
                         key="flight-check", done=self._checked,
                         failed=lambda exc: self._checked(FlightCheck(flight, problem=str(exc))))

    def _checked(self, check: FlightCheck) -> None:
        if str(check.folder) != str(Path(self.flight_edit.text().strip()).expanduser()):
            return  # the folder changed meanwhile; its own check follows
        self.check = check
        self.status.setText(check.text())
        self.status.setStyleSheet("" if check.ok else "color: #ff6b6b")
        self.open_instead.setVisible(check.project is not None)
        self._update_create()

    def _open_instead(self) -> None:
        if self.check is not None and self.check.project is not None:
            self.open_project.emit(self.check.project)
            self.reject()

    def _update_create(self) -> None:
        self.create.setEnabled(self.check is not None and self.check.ok
                               and bool(self.project_edit.text().strip()))

    def chosen(self) -> tuple[Path, Path]:
        """(flight folder, project folder) as entered."""
        return (Path(self.flight_edit.text().strip()).expanduser(),
                Path(self.project_edit.text().strip()).expanduser())
