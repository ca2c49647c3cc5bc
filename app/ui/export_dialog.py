"""The Export dialog: format, SH degree, crop box, floater filter, destination and estimated size;
the export runs as a `spaceport export --json` child process (its render check imports torch and
renders, which would hold the window's interpreter), supervised as the window's runs are
(child_run.py), and the dialog ends on its quality report with Show in folder. Header reads,
estimates and the crop fit run in the background pool. The crop box fields are bound to the
window's shared `CropBox`, so the 3D view's handles and these numbers move together.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFileDialog, QFormLayout,
                               QGroupBox, QHBoxLayout, QLabel, QLineEdit, QProgressBar,
                               QPushButton, QVBoxLayout, QWidget)

from app.cli import EXPORT_CANCELLED
from app.pipeline.errors import SpaceportError
from app.pipeline.events import Event, Progress, StageFailed, StageFinished
from app.pipeline.export import sidecar
from app.pipeline.project import Project
from app.viewer.crop import CropBox, export_crop

from .child_run import ChildProcess, RunEnd, spaceport_command
from .crop_fields import CropFields
from .export_dialog_model import (LABELS, ExportRequest, PlyInfo, default_destination,
                                  count_inside, estimate_size, ply_info, sog_bytes_per_splat,
                                  splat_bounds)
from .hints import window_hint
from .pool import BackgroundPool
from .results import QualityReportView
from .results_model import stage_outputs
from .run_outcome import how_it_ended


def reveal_in_folder(path: Path) -> None:
    """Open the folder holding `path` in the desktop's file manager."""
    folder = path if path.is_dir() else path.parent
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


class ExportDialog(QDialog):
    """Export the project's trained splats in a `spaceport export` child process; `reveal` is
    the desktop's (tests pass their own)."""

    def __init__(self, project: Project, pool: BackgroundPool, crop: CropBox,
                 parent: QWidget | None = None,
                 reveal: Callable[[Path], None] = reveal_in_folder) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Export - {project.root.name}")
        self.project, self.pool, self.crop = project, pool, crop
        self._reveal = reveal
        self.info: PlyInfo | None = None
        self.child: ChildProcess | None = None
        self.cancelling = self.disposed = False
        self.report: dict[str, Any] | None = None
        self.failure: StageFailed | None = None
        self.sog_rate = sog_bytes_per_splat(sidecar(project.paths.scene_sog, "quality"))
        self._build()
        unsubscribe = crop.subscribe(lambda _: self.update_estimate())
        self.finished.connect(lambda _: (unsubscribe(), self.crop_fields.detach()))
        self.format.currentIndexChanged.connect(self._format_changed)
        self.sh_degree.currentIndexChanged.connect(lambda _: self.update_estimate())
        self.floaters.toggled.connect(lambda _: self.update_estimate())
        self._format_changed()
        self._read_ply()

    # -- construction --------------------------------------------------------------------------
    def _build(self) -> None:
        self.format = QComboBox()
        for fmt, label in LABELS.items():
            self.format.addItem(label, fmt)
        self.sh_degree = QComboBox()
        self.floaters = QCheckBox("Remove floaters (invisible splats and isolated outliers)")
        self.destination = QLineEdit(str(default_destination(self.project.paths.exports, "sog")))
        self.destination.textChanged.connect(lambda _: self._validate_destination())
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse)
        where = QHBoxLayout()
        where.addWidget(self.destination, 1)
        where.addWidget(browse)
        self.estimate = QLabel("estimating…")
        self.estimate.setObjectName("exportEstimate")
        self.estimate.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Format:", self.format)
        form.addRow("SH degree:", self.sh_degree)
        form.addRow("Destination:", where)
        form.addRow("Estimated size:", self.estimate)
        self.crop_fields = CropFields(self.crop)
        self.crop_fields.fit_button.clicked.connect(self.fit_crop)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel()
        self.status.setObjectName("exportStatus")
        self.status.setWordWrap(True)
        self.report_view = QualityReportView()
        self.report_box = QGroupBox("Quality report")
        QVBoxLayout(self.report_box).addWidget(self.report_view)
        self.report_box.setVisible(False)
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.show_button = QPushButton("Show in folder")
        self.show_button.setEnabled(False)
        self.show_button.clicked.connect(self.show_in_folder)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.show_button)
        buttons.addStretch(1)
        for b in (self.export_button, self.cancel_button, close):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.crop_fields)
        layout.addWidget(self.floaters)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.report_box, 1)
        layout.addLayout(buttons)
        self.cancel_button.setEnabled(False)
        self.resize(720, 560)

    # -- fields --------------------------------------------------------------------------------
    @property
    def fmt(self) -> str:
        """The chosen format's key (sog, ply, splat, spz, compressed-ply)."""
        return str(self.format.currentData())

    def request(self) -> ExportRequest:
        """The fields as one export request."""
        degree = self.sh_degree.currentData()
        return ExportRequest(self.fmt, Path(self.destination.text().strip()),
                             0 if degree is None else int(degree), export_crop(self.crop),
                             self.floaters.isChecked())

    def _format_changed(self) -> None:
        current = self.destination.text().strip()
        self.destination.setText(str(default_destination(
            self.project.paths.exports, self.fmt, Path(current) if current else None)))
        self.sh_degree.setEnabled(self.fmt != "splat")  # .splat holds no SH
        self.update_estimate()

    def _validate_destination(self) -> bool:
        text = self.destination.text().strip()
        ok = bool(text)
        self.export_button.setEnabled(ok and not self.busy and self.info is not None)
        return ok

    def browse(self) -> None:
        """Choose the destination file."""
        chosen, _ = QFileDialog.getSaveFileName(self, "Export to", self.destination.text())
        if chosen:
            self.destination.setText(str(default_destination(self.project.paths.exports,
                                                              self.fmt, Path(chosen))))

    # -- background work -----------------------------------------------------------------------
    def _read_ply(self) -> None:
        ply = self.project.paths.splats_ply
        if not ply.is_file():
            cloud = stage_outputs(self.project, "train").get("cloud")
            self.status.setText("The trained splats are in the cloud: export downloads them "
                                "first." if cloud else "No trained splats yet (train/splats.ply):"
                                " run training first.")
            self._got_info(None if not cloud else self._cloud_info())
            return
        self.pool.submit(lambda task: ply_info(ply), key="export-ply", done=self._got_info,
                         failed=self._failed)

    def _cloud_info(self) -> PlyInfo:
        outputs = stage_outputs(self.project, "train")
        return PlyInfo(self.project.paths.splats_ply, int(outputs.get("num_gaussians") or 0),
                       int(getattr(self.project.settings.train, "sh_degree", 3)))

    def _got_info(self, info: PlyInfo | None) -> None:
        self.info = info
        self.sh_degree.clear()
        for degree in range(0, (info.sh_degree if info else 0) + 1):
            self.sh_degree.addItem(f"{degree}" + (" (all the splats have)" if info and
                                                  degree == info.sh_degree else ""), degree)
        self.sh_degree.setCurrentIndex(self.sh_degree.count() - 1)
        self._validate_destination()
        self.update_estimate()

    def update_estimate(self) -> None:
        """Recompute the estimated size (counting the splats inside the crop box in the pool)."""
        info = self.info
        if info is None or not hasattr(self, "estimate"):
            return
        request, compress = self.request(), self.project.settings.compress
        rate = self.sog_rate

        def text(count: int) -> str:
            size = estimate_size(request.fmt, count, request.sh_degree, compress, rate)
            return (f"{size.text()}; {count:,} splats" +
                    (" inside the crop box" if request.crop else "") +
                    (", before the floater filter" if request.filter_floaters else ""))

        if request.crop is None or not info.path.is_file():
            self.pool.submit(lambda task: None, key="export-estimate")  # drops a pending count
            self.estimate.setText(text(info.count))
            return
        self.estimate.setText("counting the splats inside the crop box…")
        self.pool.submit(lambda task: count_inside(info.path, request.crop), key="export-estimate",
                         done=lambda n: self.estimate.setText(text(n)), failed=self._failed)

    def fit_crop(self) -> None:
        """Place the crop box around the splats (computed in the pool)."""
        if self.info is None or not self.info.path.is_file():
            return
        path = self.info.path
        self.pool.submit(lambda task: splat_bounds(path), key="export-fit",
                         done=lambda b: self.crop.set(b[0], b[1], enabled=True),
                         failed=self._failed)

    # -- the export ----------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while an export's process runs (until it has ended, also after Cancel)."""
        return self.child is not None

    def start(self) -> bool:
        """Start `spaceport export` in a child process; False (and why, in the status line) when
        it cannot start."""
        if self.busy or self.info is None or not self._validate_destination():
            return False
        request = self.request()
        child = ChildProcess(spaceport_command(*request.arguments(self.project.root)),
                             self.project.paths.export_stderr, parent=self)
        child.events.connect(self._events)
        child.ended.connect(self._ended)
        self.child, self.report, self.failure, self.cancelling = child, None, None, False
        self.report_box.setVisible(False)
        self.show_button.setEnabled(False)
        self.progress.setValue(0)
        self.status.setText(f"exporting {request.fmt} to {request.out}…")
        self._busy(True)
        child.start()
        return True

    def _events(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, Progress) and not self.cancelling:
                self.progress.setValue(int(1000 * event.fraction))
                self.status.setText(event.message)
            elif isinstance(event, StageFinished) and event.stage == "export":
                self.report = event.outputs
            elif isinstance(event, StageFailed) and event.stage == "export":
                self.failure = event

    def _ended(self, end: RunEnd) -> None:
        child, self.child = self.child, None
        if child is not None:
            child.wait()  # `ended` is the thread's last act
            child.deleteLater()
        if self.disposed:
            self.deleteLater()
            return
        self._busy(False)
        if self.report is not None:
            self._done(self.report)
        elif self.cancelling or (self.failure is not None and self.failure.cancelled):
            self.progress.setValue(0)
            self.status.setText(EXPORT_CANCELLED)
        elif self.failure is not None:
            hint = window_hint(self.failure.hint, self.failure.action)
            self._error(self.failure.reason + (f"\nfix: {hint}" if hint else ""))
        elif end.error:
            self._error(f"the export could not start: {end.error}")
        else:  # a crash: killed, or an error before its first event
            self._error("\n".join([f"the export process {how_it_ended(end)}:",
                                   *end.stderr_tail[-5:]]))

    def _done(self, report: dict[str, Any]) -> None:
        self.progress.setValue(1000)
        self.status.setText(f"exported to {report['output']}")
        self.report_view.show_report(report)
        self.report_box.setVisible(True)
        self.show_button.setEnabled(True)
        self.resize(self.width(), max(self.height(), self.sizeHint().height()))

    def _failed(self, exc: BaseException) -> None:
        """A background read (header, estimate, fit) failed."""
        self._error(exc.render() if isinstance(exc, SpaceportError) else
                    f"{type(exc).__name__}: {exc}")

    def _error(self, text: str) -> None:
        self.status.setText(f"<span style='color:#f87171'>{html.escape(text)}</span>"
                            .replace("\n", "<br>"))

    def cancel(self) -> None:
        """Stop a running export (SIGTERM: the child's clean stop leaves the destination as it
        was); the dialog says so once the process has ended."""
        if self.child is None or self.cancelling:
            return
        self.cancelling = True
        self.child.stop()
        self.cancel_button.setEnabled(False)
        self.status.setText("cancelling the export…")

    def dispose(self) -> None:
        """Close, cancelling a running export; the dialog is deleted once its process ended."""
        self.disposed = True
        self.close()
        if not self.busy:
            self.deleteLater()

    def wait_ended(self, timeout_s: float) -> bool:
        """Block until the export's process has ended (the window's shutdown); SIGKILL after
        `timeout_s`. False when it had to be killed."""
        child = self.child
        if child is None:
            return True
        self.cancel()
        if child.wait(int(timeout_s * 1000)):
            return True
        child.kill()
        child.wait()
        return False

    def _busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy and not self.cancelling)
        for widget in (self.format, self.sh_degree, self.destination, self.crop_fields,
                       self.floaters):
            widget.setEnabled(not busy and (widget is not self.sh_degree or self.fmt != "splat"))
        self._validate_destination()

    def show_in_folder(self) -> None:
        """Open the folder of the last export."""
        if self.report is not None:
            self._reveal(Path(self.report["output"]))

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Closing cancels a running export."""
        self.cancel()
        super().closeEvent(event)
