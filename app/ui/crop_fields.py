"""The crop box as six numeric fields and an on/off check, bound both ways to the window's
shared `CropBox` (the export dialog shows them; the 3D view's handles move the same box)."""

from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QGridLayout, QGroupBox, QLabel,
                               QPushButton, QWidget)

from app.viewer.crop import CropBox

AXES = "xyz"


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
                spin.setMinimumWidth(80)  # not as wide as -1e6: the 3D tab's side stays narrow
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
