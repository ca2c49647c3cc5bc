"""The Flight tab: every image as a thumbnail framed in its state's colour, the map of where each
was taken, and the photo and figures of the one hovered or selected; images can be excluded.

All file reading happens in the background pool: the project's JSON files (image_status.py),
the thumbnails (thumbnails.py) and the larger photo of the details.
"""

from __future__ import annotations

import html
import math
from collections import Counter
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QPoint, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QHBoxLayout, QLabel, QListView,
                               QPushButton, QScrollArea, QSplitter, QVBoxLayout, QWidget)

from app.pipeline.project import Project

from .flight_map import FlightMap
from .image_status import STATE_COLORS, STATE_WORDS, FlightImages, load_flight_images
from .pool import BackgroundPool
from .thumbnails import ThumbnailModel, decode_thumbnail

PHOTO = 256  # long side of the photo in the details, pixels
FACTS_WIDTH = 250  # the image's facts beside its photo, pixels


def report_summary(report: dict[str, Any] | None) -> str:
    """The ingest report's headline figures in one line ('' before ingest)."""
    if not report:
        return ""
    gps, gsd = report.get("gps") or {}, report.get("gsd_cm_per_px") or {}
    overlap, extent = report.get("forward_overlap") or {}, report.get("extent") or {}
    parts = [f"GPS {gps['coverage']:.0%}" if isinstance(gps.get("coverage"), float) else "",
             ", ".join(report.get("cameras") or {}),
             f"GSD {gsd['median']:.2f} cm/px" if gsd.get("median") else "",
             f"overlap {overlap['median']:.0%}" if overlap.get("median") else "",
             f"{extent['east_west_m']:.0f} x {extent['north_south_m']:.0f} m"
             if extent.get("east_west_m") is not None else ""]
    warnings = len(report.get("warnings") or [])
    if warnings:
        parts.append(f"{warnings} warning{'s' * (warnings != 1)} (see the log)")
    return ", ".join(p for p in parts if p)


VERTICAL_SOURCES = {"relative_altitude": "DJI RelativeAltitude", "gps": "the GPS altitude",
                    "model": "the model (GPS altitude unreliable)"}


def gps_summary(report: dict[str, Any] | None, geo: dict[str, Any] | None) -> str:
    """GPS quality as ingest assessed it and, after SfM, the georeference's stated accuracy,
    e.g. 'GPS horizontal good (scatter 0.2 m), altitude noisy (drift 2.1 m/min), heights from
    DJI RelativeAltitude; georeferenced to position +-0.3 m, height +-0.1 m, scale +-1.1 %,
    heading +-0.6 deg (95 %)'."""
    quality = (report or {}).get("gps_quality") or {}
    parts = []
    horizontal, altitude = quality.get("horizontal") or {}, quality.get("altitude") or {}
    if horizontal.get("verdict"):
        scatter = horizontal.get("scatter_m")
        parts.append(f"GPS horizontal {horizontal['verdict']}"
                     + (f" (scatter {scatter:.1f} m)" if isinstance(scatter, float) else ""))
    if altitude.get("verdict"):
        drift = altitude.get("drift_m_per_min")
        parts.append(f"altitude {altitude['verdict']}"
                     + (f" (drift {drift:.1f} m/min)" if isinstance(drift, float) else ""))
    if quality.get("vertical_source") in VERTICAL_SOURCES:
        parts.append(f"heights from {VERTICAL_SOURCES[quality['vertical_source']]}")
    said = ", ".join(parts)
    accuracy = (geo or {}).get("accuracy") or {}
    if (geo or {}).get("georeferenced") and isinstance(accuracy.get("position_m"), float):
        # 2 sigma, worded as the SfM stage's warning words it (95 %)
        figures = [f"{name} +-{2 * accuracy[key] * scale:.{digits}f}{unit}"
                   for name, key, scale, digits, unit in (
                       ("position", "position_m", 1, 1, " m"), ("height", "vertical_m", 1, 1, " m"),
                       ("scale", "scale", 100, 1, " %"), ("heading", "heading_deg", 1, 1, " deg"))
                   if isinstance(accuracy.get(key), float) and math.isfinite(accuracy[key])]
        said += ("; " if said else "") + f"georeferenced to {', '.join(figures)} (95 %)"
    elif geo is not None and not geo.get("georeferenced"):
        said += ("; " if said else "") + "not georeferenced: distances are in the model's units"
    return said


def state_counts(flight: FlightImages) -> str:
    """e.g. '16 registered · 2 not registered', each count in its state's colour (rich text)."""
    counts = Counter(im.state for im in flight.images)
    return " &middot; ".join(f'<span style="color:{STATE_COLORS[s]}">{n} {STATE_WORDS[s]}</span>'
                             for s, n in counts.items())


class FlightPanel(QWidget):
    """Thumbnails, map and details of the open project's images; `exclude_changed(names)` asks
    the window to set ingest.exclude."""

    exclude_changed = Signal(list)

    def __init__(self, pool: BackgroundPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pool = pool
        self.images = FlightImages(None)
        self.exclude: list[str] = []
        self.summary = QLabel("No project open.")
        self.summary.setObjectName("flightSummary")
        self.summary.setWordWrap(True)
        self.exclude_button = QPushButton("Exclude selected")
        self.include_button = QPushButton("Include again")
        for button, excluded in ((self.exclude_button, True), (self.include_button, False)):
            button.clicked.connect(lambda _=False, e=excluded: self._set_excluded(e))
            button.setEnabled(False)
        self.model = ThumbnailModel(pool, self)
        self.grid = QListView()
        self.grid.setObjectName("thumbnails")
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setUniformItemSizes(True)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setIconSize(ThumbnailModel.tile_size())
        self.grid.setSpacing(4)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.grid.setModel(self.model)
        self.grid.selectionModel().selectionChanged.connect(self._selection_changed)
        self.grid.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.map = FlightMap()
        self.map.hovered.connect(self.show_details)
        self.map.clicked.connect(self.select_row)
        self.photo = QLabel()
        self.photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.photo.setFixedSize(PHOTO, PHOTO * 3 // 4)
        self.details = QLabel("Hover over a point or select an image to see it here.")
        self.details.setObjectName("imageDetails")
        self.details.setWordWrap(True)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._layout()
        self._shown_row: int | None = None
        self._editable = False

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.exclude_button)
        top.addWidget(self.include_button)
        facts = QScrollArea()  # the facts scroll rather than take the map's height
        facts.setWidget(self.details)
        facts.setWidgetResizable(True)
        facts.setFrameShape(QFrame.Shape.NoFrame)
        facts.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        facts.setMinimumWidth(FACTS_WIDTH)
        below = QWidget()
        below_box = QHBoxLayout(below)
        below_box.setContentsMargins(0, 0, 0, 0)
        below_box.addWidget(self.photo, 0, Qt.AlignmentFlag.AlignTop)
        below_box.addWidget(facts, 1)
        side = QSplitter(Qt.Orientation.Vertical)  # the operator can give the map more room
        side.addWidget(self.map)
        side.addWidget(below)
        side.setChildrenCollapsible(False)
        side.setSizes([550, 450])
        split = QSplitter()
        split.addWidget(self.grid)
        split.addWidget(side)
        split.setSizes([560, 520])
        box = QVBoxLayout(self)
        box.addLayout(top)
        box.addWidget(split, 1)

    # -- loading -------------------------------------------------------------------------------
    def load(self, project: Project | None, editable: bool = False) -> None:
        """Show the project's images (their states are read in the pool)."""
        self._editable = editable
        if project is None:
            self.model.show(None, [])
            return
        paths, source, exclude = project.paths, project.source, list(project.settings.ingest.exclude)
        self.pool.submit(lambda task: load_flight_images(paths, source, exclude),
                         key="flight-images", done=lambda images: self._loaded(images, exclude))

    def _loaded(self, images: FlightImages, exclude: list[str]) -> None:
        self.images, self.exclude = images, exclude
        selected = self.selected_files()
        self.model.show(images.source, images.images)
        self.map.show_images(images)
        total = len(images.images)
        counts = state_counts(images)
        lines = [line for line in (report_summary(images.report),
                                   gps_summary(images.report, images.geo)) if line]
        if images.source_missing:  # checked in the pool: a stat of a gone drive can hang
            lines.insert(0, f"The flight folder {images.source} is missing (is its drive "
                            "disconnected?): the photos cannot be shown until it is back.")
        self.summary.setText(f"<b>{total} images</b>: {counts}"
                             + "".join(f"<br>{html.escape(line)}" for line in lines))
        for file in selected:
            row = images.index(file)
            if row is not None:
                self.grid.selectionModel().select(self.model.index(row),
                                                  QItemSelectionModel.SelectionFlag.Select)
        self._scrolled()

    # -- selection, hover and details ----------------------------------------------------------
    def selected_files(self) -> list[str]:
        """The files selected in the grid, in flight order."""
        rows = sorted(i.row() for i in self.grid.selectionModel().selectedIndexes())
        return [self.model.images[r].file for r in rows if r < len(self.model.images)]

    def select_row(self, row: int) -> None:
        """Select one image (a map click) and scroll the grid to it."""
        index = self.model.index(row)
        self.grid.selectionModel().select(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.grid.scrollTo(index)

    def _selection_changed(self, *_: Any) -> None:
        files = self.selected_files()
        excluded = set(self.exclude)
        self.exclude_button.setEnabled(self._editable and any(f not in excluded for f in files))
        self.include_button.setEnabled(self._editable and any(f in excluded for f in files))
        rows = [i.row() for i in self.grid.selectionModel().selectedIndexes()]
        self.map.select(rows[-1] if rows else None)
        if rows:
            self.show_details(rows[-1])

    def show_details(self, row: int) -> None:
        """Show image `row`: its photo (decoded in the pool), state and figures."""
        if not 0 <= row < len(self.images.images) or row == self._shown_row:
            return
        self._shown_row = row
        image = self.images.images[row]
        facts = "".join(f"<tr><td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td>"
                        f"<td>{html.escape(str(v))}</td></tr>" for k, v in image.facts.items())
        color = STATE_COLORS[image.state]
        self.details.setText(f"<b>{html.escape(image.file)}</b><br>"
                             f'<span style="color:{color}">{html.escape(image.label)}</span>'
                             f"<table>{facts}</table>")
        cached = self.model.decoded.get(image.file)
        if cached is not None:
            self._show_photo(cached)  # the thumbnail at once, the larger photo when decoded
        source = self.images.source
        if source is not None:
            path = source / image.file
            self.pool.submit(lambda task: decode_thumbnail(path, PHOTO), key="flight-photo",
                             done=self._show_photo, failed=lambda exc: self.photo.clear())

    def _show_photo(self, image: QImage) -> None:
        self.photo.setPixmap(QPixmap.fromImage(image).scaled(
            PHOTO, PHOTO * 3 // 4, Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation))

    def _scrolled(self, *_: Any) -> None:
        """Cancel the thumbnails of rows scrolled out of view (the view asks for the new ones)."""
        first = self.grid.indexAt(QPoint(4, 4)).row()
        corner = self.grid.viewport().rect().bottomRight() - QPoint(4, 4)
        last = self.grid.indexAt(corner).row()
        if first >= 0:
            self.model.keep_only(range(first, (last if last >= 0 else len(self.model.images)) + 1))

    # -- exclusion -----------------------------------------------------------------------------
    def _set_excluded(self, excluded: bool) -> None:
        chosen = set(self.selected_files())
        names = set(self.exclude) | chosen if excluded else set(self.exclude) - chosen
        self.exclude_changed.emit(sorted(names))
