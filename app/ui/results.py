"""The Results tab: the held-out render beside its photo, and the compression quality report.

Files are read in the background pool (never on the UI thread); `QualityReportView` is also
what the export dialog shows when its export ends.
"""

from __future__ import annotations

from typing import Any, Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (QFormLayout, QGroupBox, QHBoxLayout, QLabel, QSizePolicy,
                               QVBoxLayout, QWidget)

from app.pipeline.events import Event, StageFinished
from app.pipeline.project import Project

from .pool import BackgroundPool
from .results_model import ResultFiles, read_report, report_rows, result_files


class QualityReportView(QWidget):
    """A quality report as labelled rows (empty: one line saying why)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = QFormLayout(self)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.rows: dict[str, str] = {}
        self.show_report(None, "no quality report yet")

    def show_report(self, report: dict[str, Any] | None, empty: str = "") -> None:
        """Show `report`'s rows, or the `empty` text when there is none."""
        while self.form.rowCount():
            self.form.removeRow(0)
        self.rows = dict(report_rows(report)) if report else {}
        if not self.rows:
            self.form.addRow(QLabel(empty))
        for label, value in self.rows.items():
            text = QLabel(value)
            text.setWordWrap(True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.form.addRow(f"{label}:", text)


class ImagePane(QLabel):
    """An image scaled to the pane's width, keeping its aspect ratio."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image = QImage()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, image: QImage, empty: str = "") -> None:
        """Show `image` (a null image shows the `empty` text)."""
        self.image = image
        if image.isNull():
            self.setPixmap(QPixmap())
            self.setText(empty)
        else:
            self._rescale()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        """Rescale with the pane."""
        super().resizeEvent(event)
        if not self.image.isNull():
            self._rescale()

    def _rescale(self) -> None:
        self.setPixmap(QPixmap.fromImage(self.image).scaled(
            self.width(), self.height(), Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation))


def read_results(files: ResultFiles) -> tuple[QImage, QImage, dict[str, Any] | None]:
    """(render, photo, quality report) from the project's files (pool thread)."""
    render = photo = QImage()
    if files.heldout_png is not None:
        both = QImage(str(files.heldout_png))  # train's evaluate: render left, photo right
        if not both.isNull():
            half = both.width() // 2
            render, photo = both.copy(0, 0, half, both.height()), both.copy(half, 0, half,
                                                                             both.height())
    report = read_report(files.quality_json) if files.quality_json is not None else None
    return render, photo, report


class ResultsView(QWidget):
    """Held-out render | photo with training's PSNR/SSIM, and the compress stage's report."""

    def __init__(self, pool: BackgroundPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pool = pool
        self.project: Project | None = None
        self.files: ResultFiles | None = None
        self.render, self.photo = ImagePane(), ImagePane()
        self.caption = QLabel("Open a project to see its results.")
        self.caption.setObjectName("resultsCaption")
        self.caption.setWordWrap(True)
        self.report = QualityReportView()
        pair = QHBoxLayout()
        for title, pane in (("Render (held-out view)", self.render), ("Photo", self.photo)):
            column = QVBoxLayout()
            column.addWidget(QLabel(f"<b>{title}</b>"), 0, Qt.AlignmentFlag.AlignHCenter)
            column.addWidget(pane, 1)
            pair.addLayout(column, 1)
        heldout = QGroupBox("Training: a view it never trained on")
        box = QVBoxLayout(heldout)
        box.addLayout(pair, 1)
        box.addWidget(self.caption)
        compressed = QGroupBox("Compression quality (compress/scene.sog)")
        QVBoxLayout(compressed).addWidget(self.report)
        layout = QVBoxLayout(self)
        layout.addWidget(heldout, 3)
        layout.addWidget(compressed, 2)

    def take_events(self, events: Iterable[Event]) -> None:
        """Reload when a run has finished training or compression (new image or report)."""
        if self.project is not None and any(
                isinstance(e, StageFinished) and not e.skipped and e.stage in ("train", "compress")
                for e in events):
            self.load(self.project)

    def load(self, project: Project | None) -> None:
        """Read the project's held-out image and quality report in the pool, then show them."""
        self.project = project
        if project is None:
            self.files = None
            self._show((QImage(), QImage(), None))
            self.caption.setText("Open a project to see its results.")
            return
        files = result_files(project)
        self.pool.submit(lambda task: read_results(files), key="results",
                         done=lambda result: self._loaded(files, result))

    def _loaded(self, files: ResultFiles, result: tuple[QImage, QImage, dict | None]) -> None:
        self.files = files
        self._show(result)
        if files.heldout_png is None:
            self.caption.setText("No held-out render yet: it is written when training ends.")
        else:
            scores = [f"PSNR {files.psnr:.2f} dB" if files.psnr is not None else "",
                      f"SSIM {files.ssim:.3f}" if files.ssim is not None else ""]
            figures = ", ".join(s for s in scores if s)
            self.caption.setText(f"{files.heldout_png}" + (f": {figures} over the held-out "
                                                           "views" if figures else ""))

    def _show(self, result: tuple[QImage, QImage, dict | None]) -> None:
        render, photo, report = result
        self.render.set_image(render, "no render yet")
        self.photo.set_image(photo, "no photo yet")
        self.report.show_report(report, "No compression report yet: run the compress stage.")

