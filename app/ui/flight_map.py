"""The Flight tab's map: where each image was taken (east/north metres about the flight's
centre, projected by app/pipeline/geodesy.py), coloured by its state; hover and click name it."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .charts import make_plot
from .image_status import STATE_COLORS, FlightImages

SIZE, SELECTED_SIZE = 10, 18


class FlightMap(QWidget):
    """A scatter of image positions; `hovered(row)` / `clicked(row)` with the image's row."""

    hovered = Signal(int)
    clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = make_plot("Image positions (GPS)", "east (m)", "north (m)")
        self.plot.setAspectLocked(True)
        self.track = self.plot.plot(pen=pg.mkPen("#5b616b", width=1))
        self.points = pg.ScatterPlotItem(size=SIZE, hoverable=True, hoverSize=SELECTED_SIZE,
                                         tip=lambda x, y, data: self.tips.get(int(data), ""))
        self.points.sigHovered.connect(self._hovered)
        self.points.sigClicked.connect(self._clicked)
        self.selected = pg.ScatterPlotItem(size=SELECTED_SIZE, brush=None,
                                           pen=pg.mkPen("#ffffff", width=2))
        self.plot.addItem(self.points)
        self.plot.addItem(self.selected)
        self.rows = np.zeros(0, int)  # the image row of each plotted point
        self.tips: dict[int, str] = {}
        self._xy = np.zeros((0, 2))
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.plot)

    def show_images(self, flight: FlightImages) -> None:
        """Plot the located images, coloured by state, along the flight track."""
        located = np.flatnonzero(np.isfinite(flight.east_north).all(axis=1))
        self.rows, self._xy = located, flight.east_north[located]
        self.tips = {int(i): f"{flight.images[i].file}\n{flight.images[i].label}" for i in located}
        self.track.setData(self._xy[:, 0], self._xy[:, 1])
        self.points.setData(
            x=self._xy[:, 0], y=self._xy[:, 1], data=list(located), pen=None,
            brush=[pg.mkBrush(STATE_COLORS[flight.images[i].state]) for i in located])
        self.select(None)

    def select(self, row: int | None) -> None:
        """Ring the image of `row` (None: no ring)."""
        hit = np.flatnonzero(self.rows == row) if row is not None else []
        xy = self._xy[hit] if len(hit) else np.zeros((0, 2))
        self.selected.setData(xy[:, 0], xy[:, 1])

    def _hovered(self, item: pg.ScatterPlotItem, points, event) -> None:
        if len(points):
            self.hovered.emit(int(points[0].data()))

    def _clicked(self, item: pg.ScatterPlotItem, points, event) -> None:
        if len(points):
            self.clicked.emit(int(points[0].data()))
