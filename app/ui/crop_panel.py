"""The crop box's switch and numeric corners, the floater highlight and "Export cropped…"."""

from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QGridLayout, QLabel, QPushButton,
                               QVBoxLayout, QWidget)

from app.viewer.crop import CropBox

AXES = "xyz"


class CropPanel(QWidget):
    """Edits a `CropBox` (the 3D handles edit the same one) and offers what depends on it."""

    def __init__(self, box: CropBox, fit: Callable[[], None], parent: QWidget | None = None):
        super().__init__(parent)
        self.box = box
        self.enable = QCheckBox("Crop box: hide splats outside (drag its handles in the view)")
        self.enable.setObjectName("cropEnable")
        fit_button = QPushButton("Fit box to the model")
        grid = QGridLayout()
        self.fields: dict[tuple[int, int], QDoubleSpinBox] = {}
        for side, label in enumerate(("min", "max")):
            grid.addWidget(QLabel(label), side + 1, 0)
            for axis in range(3):
                if side == 0:
                    grid.addWidget(QLabel(f"{AXES[axis]} (m)"), 0, axis + 1)
                field = QDoubleSpinBox()
                field.setRange(-1e7, 1e7)
                field.setDecimals(2)
                field.setSingleStep(0.5)
                field.setKeyboardTracking(False)
                field.valueChanged.connect(lambda v, a=axis, s=side: self.box.set_face(a, s, v))
                self.fields[(axis, side)] = field
                grid.addWidget(field, side + 1, axis + 1)
        self.floaters = QCheckBox("Highlight what export's floater filter would remove")
        self.floaters.setObjectName("floaterToggle")
        self.floater_text = QLabel("")
        self.floater_text.setWordWrap(True)
        self.export_button = QPushButton("Export cropped…")
        self.export_button.setObjectName("exportCropped")
        self.export_text = QLabel("")
        self.export_text.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.enable)
        layout.addLayout(grid)
        layout.addWidget(fit_button)
        for w in (self.floaters, self.floater_text, self.export_button, self.export_text):
            layout.addWidget(w)
        layout.addStretch(1)
        self.enable.toggled.connect(lambda on: self.box.set(enabled=on))
        fit_button.clicked.connect(fit)
        box.subscribe(lambda b: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        """Show the box's current corners and switch."""
        self.enable.blockSignals(True)
        self.enable.setChecked(self.box.enabled)
        self.enable.blockSignals(False)
        for (axis, side), field in self.fields.items():
            field.blockSignals(True)
            field.setValue(float((self.box.minimum, self.box.maximum)[side][axis]))
            field.blockSignals(False)
