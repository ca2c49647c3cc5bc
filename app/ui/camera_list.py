"""The cameras of the 3D tab: every image with its SfM status, and the photo of the chosen one
beside the live render, with a blend slider and the PSNR between them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPixmap
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QSizePolicy, QSlider, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

STATUS_COLOURS = {"registered": "#7fd17f", "not registered": "#e07070"}


@dataclass
class ImageStatus:
    """One image of the flight as the SfM stage left it."""

    name: str
    registered: bool
    mean_error_px: float | None = None
    observations: int | None = None
    reason: str = ""  # why it is not registered, in words (empty when unknown or registered)

    @property
    def status(self) -> str:
        """'registered' or 'not registered'."""
        return "registered" if self.registered else "not registered"


def image_statuses(stats: dict[str, Any] | None, camera_names: list[str]) -> list[ImageStatus]:
    """Per-image status from sfm/stats.json (TEAM contract 2); the model's cameras when there is
    no stats.json."""
    images = (stats or {}).get("images") or {}
    out = []
    for name, entry in sorted(images.items()):
        reason = entry.get("reason_text") or (entry.get("reason") or "").replace("_", " ")
        registered = bool(entry.get("registered"))
        out.append(ImageStatus(name, registered, entry.get("mean_error_px"),
                               entry.get("observations"), "" if registered else reason))
    known = {s.name for s in out}
    out += [ImageStatus(n, True) for n in camera_names if n not in known]
    return sorted(out, key=lambda s: s.name)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def to_pixmap(image: np.ndarray) -> QPixmap:
    """A QPixmap of an (H, W, 3) uint8 array."""
    image = np.ascontiguousarray(image[..., :3])
    h, w = image.shape[:2]
    return QPixmap.fromImage(QImage(image.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy())


class CameraList(QTreeWidget):
    """Images with status, reprojection error and reason; `chosen(name)` for registered ones."""

    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cameraList")
        self.setHeaderLabels(["Image", "Status", "Error px", "Reason"])
        self.setRootIsDecorated(False)
        self.statuses: list[ImageStatus] = []
        self.itemActivated.connect(self._activated)
        self.itemClicked.connect(self._activated)

    def show_statuses(self, statuses: list[ImageStatus]) -> None:
        """List the images (registered first in name order is left to the caller)."""
        self.statuses = statuses
        self.clear()
        for s in statuses:
            error = f"{s.mean_error_px:.2f}" if s.mean_error_px is not None else "-"
            item = QTreeWidgetItem([s.name, s.status, error, s.reason])
            item.setForeground(1, QBrush(QColor(STATUS_COLOURS[s.status])))
            if s.reason:
                item.setToolTip(3, s.reason)
            if not s.registered:
                item.setToolTip(0, "not registered: no pose to look through")
            self.addTopLevelItem(item)
        for column in range(3):
            self.resizeColumnToContents(column)

    def select(self, name: str) -> None:
        """Highlight the row of `name` (a frustum was clicked)."""
        for i in range(self.topLevelItemCount()):
            item = self.topLevelItem(i)
            if item.text(0) == name:
                self.setCurrentItem(item)
                return

    def _activated(self, item: QTreeWidgetItem) -> None:
        if item.text(1) == "registered":
            self.chosen.emit(item.text(0))


class ComparePanel(QWidget):
    """The chosen camera's photo blended over the live render, and their PSNR."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Choose a registered camera to compare its photo with the render.")
        self.title.setWordWrap(True)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumHeight(120)
        # the pixmap must not resize the tab (that would resize the 3D view and redraw it)
        self.image.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(50)
        self.slider.setToolTip("render  <->  photo")
        self.psnr_label = QLabel("")
        self.psnr_label.setObjectName("comparePsnr")
        row = QHBoxLayout()
        row.addWidget(QLabel("render"))
        row.addWidget(self.slider, 1)
        row.addWidget(QLabel("photo"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.image, 1)
        layout.addLayout(row)
        layout.addWidget(self.psnr_label)
        self.photo: np.ndarray | None = None
        self.render: np.ndarray | None = None
        self.value: float | None = None
        self.slider.valueChanged.connect(lambda _: self._redraw())

    def set_photo(self, name: str, photo: np.ndarray | None) -> None:
        """The chosen camera's undistorted photo ((H, W, 3) uint8), None while it loads."""
        self.title.setText(f"<b>{name}</b>: the photo blended over the live render")
        self.photo, self.render, self.value = photo, None, None
        self.psnr_label.setText("rendering the full model for this view…")
        self._redraw()

    def set_render(self, render: np.ndarray) -> None:
        """The live render of the same view (cropped to the photo, any size)."""
        if self.photo is None:
            return
        from PIL import Image

        h, w = self.photo.shape[:2]
        if render.shape[:2] != (h, w):
            render = np.asarray(Image.fromarray(render[..., :3]).resize((w, h),
                                                                         Image.Resampling.BILINEAR))
        self.render = render[..., :3]
        self.value = psnr(self.render, self.photo)
        self.psnr_label.setText(f"PSNR render vs photo: {self.value:.2f} dB "
                                f"({w}x{h}, full model on black)")
        self._redraw()

    def clear(self) -> None:
        """Forget the camera (another project)."""
        self.photo = self.render = self.value = None
        self.image.clear()
        self.psnr_label.setText("")

    def _redraw(self) -> None:
        if self.photo is None:
            self.image.clear()
            return
        a = self.slider.value() / 100.0
        shown = self.photo if self.render is None else \
            (a * self.photo + (1 - a) * self.render).astype(np.uint8)
        self.image.setPixmap(to_pixmap(shown).scaled(
            self.image.size(), Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation))


def load_photo(path, max_side: int = 1024) -> np.ndarray:
    """An (H, W, 3) uint8 photo, downscaled so its long side is at most `max_side`."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        s = min(1.0, max_side / max(im.size))
        if s < 1.0:
            im = im.resize((round(im.width * s), round(im.height * s)), Image.Resampling.LANCZOS)
        return np.asarray(im)

