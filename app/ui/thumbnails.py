"""The Flight tab's thumbnail grid: a list model whose pictures are decoded lazily in the pool.

Only the rows the view asks to paint are decoded, and requests for rows scrolled out of view
are cancelled, so a 1,000-image flight's first screen comes at once. JPEGs are reduced while
decoding (Pillow's `draft`: the decoder's DCT scaling reads 1/8 of a 4000 px photo), which is
what makes a thumbnail cost milliseconds instead of a full decode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap

from .image_status import STATE_COLORS, ImageStatus
from .pool import BackgroundPool, Task

THUMB = 144  # longest side of a grid thumbnail, pixels
FRAME = 4  # the status frame drawn around it


def decode_thumbnail(path: Path, size: int) -> QImage:
    """The picture at `path` reduced to fit `size` pixels (QImage is safe off the UI thread)."""
    with Image.open(path) as im:
        im.draft("RGB", (size, size))  # JPEG: decode at 1/2, 1/4 or 1/8 scale directly
        small = im.convert("RGB")
        small.thumbnail((size, size), Image.Resampling.BILINEAR)
        data = small.tobytes()
        w, h = small.size
    return QImage(data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def framed(image: QImage | None, state: str) -> QPixmap:
    """The thumbnail (or an empty tile while it loads) inside a frame of its state's colour."""
    pix = QPixmap(THUMB + 2 * FRAME, THUMB * 3 // 4 + 2 * FRAME)
    pix.fill(QColor("#15171c"))
    painter = QPainter(pix)
    if image is not None:
        scaled = image.scaled(THUMB, THUMB * 3 // 4, Qt.AspectRatioMode.KeepAspectRatio)
        painter.drawImage((pix.width() - scaled.width()) // 2,
                          (pix.height() - scaled.height()) // 2, scaled)
    painter.setPen(QPen(QColor(STATE_COLORS.get(state, "#8a8f98")), FRAME))
    painter.drawRect(FRAME // 2, FRAME // 2, pix.width() - FRAME, pix.height() - FRAME)
    painter.end()
    return pix


class ThumbnailModel(QAbstractListModel):
    """Images with their state; a row's picture is requested the first time it is painted."""

    def __init__(self, pool: BackgroundPool, parent: Any = None) -> None:
        super().__init__(parent)
        self.pool = pool
        self.source: Path | None = None
        self.images: list[ImageStatus] = []
        self.decoded: dict[str, QImage] = {}  # file -> thumbnail (kept across status reloads)
        self._pixmaps: dict[int, QPixmap] = {}
        self._pending: dict[str, Task] = {}
        self._failed: set[str] = set()

    def show(self, source: Path | None, images: list[ImageStatus]) -> None:
        """Show these images (thumbnails already decoded for the same flight are kept)."""
        self.beginResetModel()
        if source != self.source:
            self.cancel_pending()
            self.decoded.clear()
            self._failed.clear()
        self.source, self.images = source, list(images)
        self._pixmaps.clear()
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        """Number of images."""
        return 0 if parent.isValid() else len(self.images)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Name, framed thumbnail and status tooltip of a row."""
        if not index.isValid():
            return None
        image = self.images[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return Path(image.file).name
        if role == Qt.ItemDataRole.DecorationRole:
            return self._pixmap(index.row(), image)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{image.file}\n{image.label}"
        return None

    def _pixmap(self, row: int, image: ImageStatus) -> QPixmap:
        pix = self._pixmaps.get(row)
        if pix is None:
            decoded = self.decoded.get(image.file)
            if decoded is None:
                self._request(image.file)
            pix = framed(decoded, image.state)
            if decoded is not None:
                self._pixmaps[row] = pix
        return pix

    def _request(self, file: str) -> None:
        if self.source is None or file in self._pending or file in self._failed:
            return
        path = self.source / file
        self._pending[file] = self.pool.submit(
            lambda task: decode_thumbnail(path, THUMB), done=lambda img: self._decoded(file, img),
            failed=lambda exc: self._decoded(file, None))

    def _decoded(self, file: str, image: QImage | None) -> None:
        self._pending.pop(file, None)
        if image is None:
            self._failed.add(file)  # unreadable: the frame stays empty, its status says why
            return
        self.decoded[file] = image
        for row, im in enumerate(self.images):
            if im.file == file:
                self._pixmaps.pop(row, None)
                idx = self.index(row)
                self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    def keep_only(self, rows: range) -> None:
        """Cancel the thumbnails requested for rows outside `rows` (scrolled out of view)."""
        wanted = {self.images[r].file for r in rows if 0 <= r < len(self.images)}
        for file in [f for f in self._pending if f not in wanted]:
            self._pending.pop(file).cancel()

    def cancel_pending(self) -> None:
        """Cancel every requested thumbnail."""
        for task in self._pending.values():
            task.cancel()
        self._pending.clear()

    @property
    def loading(self) -> int:
        """Thumbnails requested and not delivered yet."""
        return len(self._pending)

    @staticmethod
    def tile_size() -> QSize:
        """The size of one framed thumbnail."""
        return QSize(THUMB + 2 * FRAME, THUMB * 3 // 4 + 2 * FRAME)
