"""The stage list: one row per pipeline stage with its state, progress, time and what it says."""

from __future__ import annotations

import html
import time
from typing import Any, Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QTextLayout, QTextOption
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QStyle, QStyledItemDelegate,
                               QStyleOptionViewItem, QTreeWidget, QTreeWidgetItem, QWidget)

from .hints import hint_label, window_hint
from .run_model import RunModel, StageView

STATE_COLORS = {"pending": "#8a8f98", "running": "#3b82f6", "done": "#22a35a",
                "failed": "#e5484d", "cancelled": "#d98e04", "stale": "#b58900"}
TITLES = {"ingest": "Ingest", "sfm": "SfM", "train": "Training", "compress": "Compress"}
NAME = Qt.ItemDataRole.UserRole
STAGE, STATE, TIME, DETAIL = range(4)


def stage_title(name: str) -> str:
    """The name the window shows for a stage."""
    return TITLES.get(name, name)


def format_seconds(seconds: float | None) -> str:
    """'8 s', '3 min 05 s', '1 h 02 min' ('' when unknown)."""
    if seconds is None:
        return ""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class WrappedDetail(QStyledItemDelegate):
    """Makes a row as tall as its Detail text wrapped to the column's width: QTreeView paints
    wrapped text when word wrap is on but sizes every row for one line, which cut it off."""

    def __init__(self, view: "StageList") -> None:
        super().__init__(view)
        self.view = view

    def sizeHint(self, option: QStyleOptionViewItem,  # noqa: N802 - Qt override
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        """One line for the short columns; the wrapped text's height for Detail."""
        hint = super().sizeHint(option, index)
        if index.column() != DETAIL:
            return hint
        cell = QStyleOptionViewItem(option)
        self.initStyleOption(cell, index)
        cell.rect = QRect(0, 0, self.view.columnWidth(DETAIL), hint.height())
        style = self.view.style()  # the text's own rectangle in the cell, as painting uses it
        width = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, cell, self.view).width()
        lines = wrapped_lines(str(index.data() or ""), cell.font, max(20, width))
        cell.text = "x"  # one line, with the style's padding
        one = style.sizeFromContents(QStyle.ContentsType.CT_ItemViewItem, cell, QSize(),
                                     self.view).height()
        line = QFontMetrics(cell.font).lineSpacing()
        return QSize(hint.width(), max(hint.height(), one + (lines - 1) * line))


def wrapped_lines(text: str, font: QFont, width: int) -> int:
    """How many lines `text` takes at `width` pixels, wrapped as item views paint it (at word
    boundaries, or anywhere in a word longer than the line, such as a path)."""
    layout = QTextLayout(text.replace("\n", "\u2028"), font)  # a line break, as views paint it
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    layout.setTextOption(option)
    layout.beginLayout()
    lines = 0
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        lines += 1
    layout.endLayout()
    return max(1, lines)


class StageList(QTreeWidget):
    """Stages in pipeline order; the selected one is where "Rerun from" starts."""

    def __init__(self, describe: Callable[[str, dict[str, Any]], str] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.describe = describe or (lambda name, outputs: "")  # a done stage's outputs, in words
        self.setObjectName("stageList")
        self.setColumnCount(4)
        self.setHeaderLabels(["Stage", "State", "Time", "Detail"])
        self.setRootIsDecorated(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setWordWrap(True)  # the detail wraps instead of being cut off
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.setUniformRowHeights(False)
        self.setItemDelegate(WrappedDetail(self))
        header = self.header()
        header.setStretchLastSection(True)
        for col in (STAGE, STATE, TIME):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        # a column that grows or shrinks (a longer time, a resized sidebar) changes the Detail
        # column's width, which rewraps its text: rows get their heights again
        header.sectionResized.connect(lambda *_: self._relayout())

    def refresh(self, model: RunModel) -> None:
        """Show the model's stages (rows are reused so the selection survives)."""
        names = list(model.stages)
        if [self.topLevelItem(i).data(STAGE, NAME) for i in range(self.topLevelItemCount())] != names:
            self.clear()
            for name in names:
                item = QTreeWidgetItem([stage_title(name), "", "", ""])
                item.setData(STAGE, NAME, name)
                self.addTopLevelItem(item)
        now = time.time()
        details = [self.topLevelItem(i).text(DETAIL) for i in range(self.topLevelItemCount())]
        for i, view in enumerate(model.stages.values()):
            self._fill(self.topLevelItem(i), view, now)
        if details != [self.topLevelItem(i).text(DETAIL) for i in range(self.topLevelItemCount())]:
            self._relayout()  # a row's wrapped detail may need more (or fewer) lines

    def _relayout(self) -> None:
        self.scheduleDelayedItemsLayout()

    def _fill(self, item: QTreeWidgetItem, view: StageView, now: float) -> None:
        state = view.state
        if state == "running":
            state = f"running {view.fraction * 100:.0f}%"
        item.setText(STATE, state)
        item.setForeground(STATE, QBrush(QColor(STATE_COLORS.get(view.state, "#8a8f98"))))
        item.setText(TIME, format_seconds(view.elapsed(now)))
        item.setText(DETAIL, self._detail(view))
        hint = window_hint(view.hint, view.action)
        tip = (view.reason or self._detail(view)) + (f"\n{hint_label(view.state)}: {hint}"
                                                      if hint else "")
        for col in range(self.columnCount()):
            item.setToolTip(col, tip)

    def _detail(self, view: StageView) -> str:
        if view.state in ("failed", "cancelled", "stale"):
            return view.reason
        if view.state == "done":
            return self.describe(view.name, view.outputs)
        if view.cloud_job:
            return f"cloud job {view.cloud_job}: {view.message}" if view.message else \
                f"cloud job {view.cloud_job}"
        return view.message

    def detail(self, model: RunModel) -> str:
        """Rich text on the selected stage, else on the running one or the first needing attention."""
        views = list(model.stages.values())
        name = self.selected_stage()
        view = model.stages.get(name) if name else (model.stages.get(model.running or "") or next(
            (v for v in views if v.state in ("failed", "cancelled", "stale")), None))
        if view is None:
            return self._next_step(views)
        text = f"<b>{html.escape(stage_title(view.name))}</b>: {html.escape(view.state)}"
        said = self._detail(view)
        if said:
            text += f"<br>{html.escape(said)}"
        hint = window_hint(view.hint, view.action)
        if hint:
            text += f"<br><i>{hint_label(view.state)}: {html.escape(hint)}</i>"
        return text

    @staticmethod
    def _next_step(views: list[StageView]) -> str:
        """What to do when nothing is running or needs attention (a newcomer's first look)."""
        todo = next((v for v in views if v.state != "done"), None)
        if not views:
            return ""
        if todo is None:
            return "All stages are done."
        if todo is views[0]:
            return ("<b>Ready.</b> Press Run to process the flight; Stop after: SfM stops there "
                    "so that you can inspect the images and the reconstruction before training.")
        return f"<b>Next: {html.escape(stage_title(todo.name))}.</b> Press Run to go on."

    def selected_stage(self) -> str | None:
        """Name of the selected stage, if any."""
        items = self.selectedItems()
        return items[0].data(STAGE, NAME) if items else None
