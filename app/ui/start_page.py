"""What the window shows when no project is open: start a project, try the sample flight,
reopen a recent project, or open a model file. A folder dropped on the window starts a project."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QProgressBar,
                               QPushButton, QVBoxLayout, QWidget)

from app.pipeline.errors import SpaceportError
from app.pipeline.events import Progress

from .pool import BackgroundPool

PATH = Qt.ItemDataRole.UserRole


@dataclass
class SampleFlight:
    """Where the sample flight and its project go, and how it is rendered."""

    folder: Path
    images: int = 24
    width: int = 1024
    height: int = 768
    seed: int = 7

    @property
    def flight(self) -> Path:
        """The generated images."""
        return self.folder / "flight"

    @property
    def project(self) -> Path:
        """Its project folder."""
        return self.folder / "sample-project"  # its name in the title and the recent list


def default_sample() -> SampleFlight:
    """The sample flight in the user's application data folder."""
    where = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return SampleFlight(Path(where or Path.home() / ".spaceport") / "sample-flight")


class StartPage(QWidget):
    """Buttons for each way in, the recent projects, and the sample flight's progress."""

    new_requested = Signal()
    open_requested = Signal()
    model_requested = Signal()
    recent_chosen = Signal(object)  # Path
    sample_ready = Signal(object, object)  # flight folder, project folder
    failed = Signal(object)  # SpaceportError

    def __init__(self, pool: BackgroundPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("startPage")
        self.pool = pool
        self.sample = default_sample()
        title = QLabel("<h1>Spaceport</h1><p>Drone flight to an inspectable, compressed 3D "
                       "Gaussian Splatting model.</p>")
        self.new_button = self._button("New project from a flight folder…", self.new_requested)
        self.sample_button = QPushButton("Try the sample flight")
        self.sample_button.setObjectName("sampleButton")
        self.sample_button.clicked.connect(self.make_sample)
        self.open_button = self._button("Open project…", self.open_requested)
        self.model_button = self._button("Open model…", self.model_requested)
        self.model_button.setEnabled(False)  # until the 3D view registers a model opener
        self.sample_progress = QProgressBar()
        self.sample_progress.setRange(0, 1000)
        self.sample_progress.hide()
        self.sample_status = QLabel("")
        self.drop_hint = QLabel("…or drop a flight folder on this window.")
        self.recent = QListWidget()
        self.recent.setObjectName("recentProjects")
        self.recent.itemActivated.connect(lambda item: self.recent_chosen.emit(item.data(PATH)))
        left = QVBoxLayout()
        left.addWidget(title)
        for w in (self.new_button, self.drop_hint, self.sample_button, self.sample_progress,
                  self.sample_status, self.open_button, self.model_button):
            left.addWidget(w)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(QLabel("<b>Recent projects</b>"))
        right.addWidget(self.recent, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(48, 32, 48, 32)
        layout.addLayout(left, 1)
        layout.addSpacing(32)
        layout.addLayout(right, 1)

    def _button(self, text: str, signal: Signal) -> QPushButton:
        button = QPushButton(text)
        button.clicked.connect(lambda: signal.emit())
        return button

    def show_recent(self, folders: list[Path]) -> None:
        """List recent project folders (double-click or Enter opens one)."""
        self.recent.clear()
        for folder in folders:
            item = QListWidgetItem(f"{folder.name}\n{folder}")
            item.setData(PATH, folder)
            self.recent.addItem(item)
        if not folders:
            self.recent.addItem(QListWidgetItem("none yet"))

    def make_sample(self) -> None:
        """Render the sample flight in the pool (unless already there), then `sample_ready`."""
        from app.pipeline.synthetic import generate_flight

        sample = self.sample
        if (sample.flight / "ground_truth.json").is_file():
            self.sample_ready.emit(sample.flight, sample.project)
            return

        def render(task) -> None:
            generate_flight(sample.flight, n_images=sample.images, seed=sample.seed,
                            width=sample.width, height=sample.height,
                            emit=lambda e: task.progress(e.fraction, e.message)
                            if isinstance(e, Progress) else None)

        self.sample_button.setEnabled(False)
        self.sample_progress.show()
        self.sample_status.setText(f"rendering {sample.images} images into {sample.flight}…")
        self.pool.submit(render, key="sample-flight", done=lambda _: self._sample_done(None),
                         failed=self._sample_done, progress=self._sample_progress)

    def _sample_progress(self, fraction: float, message: str) -> None:
        self.sample_progress.setValue(int(1000 * fraction))
        if message:
            self.sample_status.setText(message)

    def _sample_done(self, error: BaseException | None) -> None:
        self.sample_button.setEnabled(True)
        self.sample_progress.hide()
        self.sample_status.setText("")
        if error is None:
            self.sample_ready.emit(self.sample.flight, self.sample.project)
        else:
            self.failed.emit(error if isinstance(error, SpaceportError) else SpaceportError(
                f"The sample flight could not be made: {error}"))
