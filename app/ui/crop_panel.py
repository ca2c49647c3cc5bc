"""The 3D tab's Crop page: the crop box's fields (the export dialog's, on the same `CropBox`
the view's handles move), the floater highlight and "Export cropped…"."""

from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QCheckBox, QLabel, QPushButton, QVBoxLayout, QWidget

from app.viewer.crop import CropBox

from .crop_fields import CropFields


class CropPanel(QWidget):
    """Edits a `CropBox` (the 3D handles edit the same one) and offers what depends on it."""

    def __init__(self, box: CropBox, fit: Callable[[], None], parent: QWidget | None = None):
        super().__init__(parent)
        self.box = box
        self.crop_fields = CropFields(box)
        self.crop_fields.enabled.setText("Hide the splats outside the box")
        self.crop_fields.enabled.setToolTip("drag the box's handles in the view, or type its "
                                            "corners here")
        self.crop_fields.fit_button.setText("Fit the box to the model")
        self.crop_fields.fit_button.setToolTip("the model's bounds and a 5 % margin")
        self.crop_fields.fit_button.clicked.connect(fit)
        self.floaters = QCheckBox("Highlight floaters")
        self.floaters.setToolTip("tints magenta what export's floater filter would remove")
        self.floaters.setObjectName("floaterToggle")
        self.floater_text = QLabel("")
        self.floater_text.setWordWrap(True)
        self.export_button = QPushButton("Export cropped…")
        self.export_button.setObjectName("exportCropped")
        layout = QVBoxLayout(self)
        for w in (self.crop_fields, self.floaters, self.floater_text, self.export_button):
            layout.addWidget(w)
        layout.addStretch(1)
