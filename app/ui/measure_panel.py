"""Measuring in the 3D view: picked points with their ENU and geographic positions, and the
distance and height difference between the last two."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLabel, QPushButton, QVBoxLayout, QWidget

from app.viewer.measure import Georef, describe_distance, describe_point


class MeasurePanel(QWidget):
    """A 'Measure' switch, the picked points and the distance between the last two."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.toggle = QCheckBox("Measure: click points on the model")
        self.toggle.setObjectName("measureToggle")
        self.text = QLabel("")
        self.text.setObjectName("measureText")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        clear = QPushButton("Clear points")
        layout = QVBoxLayout(self)
        for w in (self.toggle, self.text, clear):
            layout.addWidget(w)
        layout.addStretch(1)
        self.georef = Georef()
        self.points: list[np.ndarray] = []
        self.frame_note = ""
        clear.clicked.connect(self.clear)
        self._show()

    def add_point(self, point: np.ndarray | None) -> None:
        """A picked point (None: the click met no splat)."""
        if point is None:
            self._show("nothing under the cursor: click on the model")
            return
        self.points = (self.points + [np.asarray(point, float)])[-2:]
        self._show()

    def distance_label(self) -> str:
        """The label drawn on the line between the last two points."""
        if len(self.points) < 2:
            return ""
        delta = self.points[1] - self.points[0]
        unit = "m" if self.georef.metric else "units"
        return f"{np.linalg.norm(delta):.2f} {unit}, dz {delta[2]:+.2f}"

    def clear(self) -> None:
        """Forget the points."""
        self.points = []
        self._show()

    def _show(self, note: str = "") -> None:
        lines = [f"<b>{'AB'[i]}</b>: {describe_point(p, self.georef)}"
                 for i, p in enumerate(self.points)]
        if len(self.points) == 2:
            lines.append(f"<b>A to B</b>: {describe_distance(*self.points, self.georef)}")
        if self.georef.accuracy:
            lines.append(f"<i>{self.georef.accuracy}</i>")
        elif not self.georef.metric:
            lines.append("<i>The model is not georeferenced: its units are unknown.</i>")
        if self.frame_note:
            lines.append(f"<i>{self.frame_note}</i>")
        if note:
            lines.append(note)
        self.text.setText("<br>".join(lines))
