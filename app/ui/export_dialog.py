"""The Export dialog: format, SH degree, crop box, floater filter, destination and estimated size;
the pipeline's `export_project` runs in the background pool and the dialog ends on its quality
report with Show in folder. The crop box fields are bound to the window's shared `CropBox`, so
the 3D view's handles and these numbers move together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QVBoxLayout, QWidget)

from app.pipeline.errors import SpaceportError
from app.pipeline.events import Event, Progress
from app.pipeline.cancel import CancelToken
from app.pipeline.export import sidecar
from app.pipeline.project import Project
from app.pipeline.project_export import export_project
from app.pipeline.stages import fetch_cloud_splats
from app.viewer.crop import CropBox, export_crop

from .export_dialog_model import (LABELS, ExportRequest, PlyInfo, default_destination,
                                  count_inside, estimate_size, ply_info, sog_bytes_per_splat,
                                  splat_bounds)
from .pool import BackgroundPool, Task
from .results import QualityReportView
from .results_model import stage_outputs

Export = Callable[..., dict[str, Any]]
AXES = "xyz"


def reveal_in_folder(path: Path) -> None:
    """Open the folder holding `path` in the desktop's file manager."""
    folder = path if path.is_dir() else path.parent
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


class CropFields(QGroupBox):
    """Six numeric fields and an on/off check bound both ways to a `CropBox`."""

    def __init__(self, box: CropBox, parent: QWidget | None = None) -> None:
        super().__init__("Crop box (metres; x east, y north, z up)", parent)
        self.box = box
        self.enabled = QCheckBox("Keep only the splats inside this box")
        self.spins: dict[str, QDoubleSpinBox] = {}
        grid = QGridLayout(self)
        grid.addWidget(self.enabled, 0, 0, 1, 4)
        for col, axis in enumerate(AXES):
            grid.addWidget(QLabel(axis), 1, col + 1)
        for row, end in enumerate(("min", "max"), start=2):
            grid.addWidget(QLabel(end), row, 0)
            for col, axis in enumerate(AXES):
                spin = QDoubleSpinBox()
                spin.setRange(-1e6, 1e6)
                spin.setDecimals(2)
                spin.setSingleStep(1.0)
                spin.setKeyboardTracking(False)  # one change per edit, not per keystroke
                spin.setObjectName(f"crop_{end}_{axis}")
                spin.valueChanged.connect(self._edited)
                grid.addWidget(spin, row, col + 1)
                self.spins[f"{end}_{axis}"] = spin
        self.fit_button = QPushButton("Fit to the splats")
        self.fit_button.setToolTip("the box holding 99.5 % of the splat centres on every axis")
        grid.addWidget(self.fit_button, 4, 1, 1, 3)
        self.error = QLabel()
        self.error.setObjectName("cropError")
        grid.addWidget(self.error, 5, 0, 1, 4)
        self.enabled.toggled.connect(lambda on: self.box.set(enabled=on))
        self._unsubscribe = box.subscribe(lambda _: self.show_box())
        self.show_box()

    def show_box(self) -> None:
        """Show the model's corners and state (without echoing the change back)."""
        values = [*self.box.minimum, *self.box.maximum]
        for spin, value in zip(self.spins.values(), values):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        self.enabled.blockSignals(True)
        self.enabled.setChecked(self.box.enabled)
        self.enabled.blockSignals(False)

    def _edited(self) -> None:
        lo = [self.spins[f"min_{a}"].value() for a in AXES]
        hi = [self.spins[f"max_{a}"].value() for a in AXES]
        try:
            self.box.set(lo, hi)
        except ValueError as exc:
            self.error.setText(f"not applied: {exc}")
            return
        self.error.setText("")

    def detach(self) -> None:
        """Stop following the model (the dialog is going away)."""
        self._unsubscribe()


class ExportDialog(QDialog):
    """Export the project's trained splats; `export` and `reveal` are the pipeline's and the
    desktop's (tests pass their own `reveal`)."""

    def __init__(self, project: Project, pool: BackgroundPool, crop: CropBox,
                 parent: QWidget | None = None, export: Export = export_project,
                 reveal: Callable[[Path], None] = reveal_in_folder) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Export - {project.root.name}")
        self.project, self.pool, self.crop = project, pool, crop
        self._export, self._reveal = export, reveal
        self.info: PlyInfo | None = None
        self.task: Task | None = None
        self.token: CancelToken | None = None
        self.report: dict[str, Any] | None = None
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
        self.export_button.setEnabled(ok and self.task is None and self.info is not None)
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
    def start(self) -> bool:
        """Run the export in the pool; False (and why, in the status line) when it cannot start."""
        if self.task is not None or self.info is None or not self._validate_destination():
            return False
        request = self.request()
        options = request.options(self.project.settings.compress)
        token = CancelToken()

        def job(task: Task) -> dict[str, Any]:
            def emit(event: Event) -> None:
                if isinstance(event, Progress):
                    task.progress(event.fraction, event.message)

            request.out.parent.mkdir(parents=True, exist_ok=True)
            return self._export(self.project, request.fmt, request.out, options, emit=emit,
                                cancel=token, fetch_splats=fetch_cloud_splats)

        self.token, self.report = token, None
        self.report_box.setVisible(False)
        self.show_button.setEnabled(False)
        self.progress.setValue(0)
        self.status.setText(f"exporting {request.fmt} to {request.out}…")
        self.task = self.pool.submit(job, key="export", done=self._done, failed=self._failed,
                                     progress=self._progress)
        self._busy(True)
        return True

    def _progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(1000 * fraction))
        self.status.setText(message)

    def _done(self, report: dict[str, Any]) -> None:
        self.task, self.report = None, report
        self._busy(False)
        self.progress.setValue(1000)
        self.status.setText(f"exported to {report['output']}")
        self.report_view.show_report(report)
        self.report_box.setVisible(True)
        self.show_button.setEnabled(True)
        self.resize(self.width(), max(self.height(), self.sizeHint().height()))

    def _failed(self, exc: BaseException) -> None:
        if self.task is not None and self.task.done:
            self.task = None
        self._busy(self.task is not None)
        text = exc.render() if isinstance(exc, SpaceportError) else f"{type(exc).__name__}: {exc}"
        self.status.setText(f"<span style='color:#f87171'>{text}</span>".replace("\n", "<br>"))

    def cancel(self) -> None:
        """Stop a running export (the destination keeps what it held: writes are atomic)."""
        if self.task is None:
            return
        self.task.cancel()
        if self.token is not None:
            self.token.cancel()
        self.task = None
        self._busy(False)
        self.progress.setValue(0)
        self.status.setText("export cancelled; the destination was left as it was")

    def _busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
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
