"""The stage list: one row per pipeline stage with its state, progress and reason."""

from __future__ import annotations

import html
from typing import Any, Callable

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QTreeWidget, QTreeWidgetItem, QWidget

from .run_model import RunModel, StageView

STATE_COLORS = {"pending": "#8a8f98", "running": "#3b82f6", "done": "#22a35a",
                "failed": "#e5484d", "cancelled": "#d98e04", "stale": "#b58900"}


class StageList(QTreeWidget):
    """Stages in pipeline order; the selected one is where "Rerun from" starts."""

    def __init__(self, describe: Callable[[str, dict[str, Any]], str] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.describe = describe or (lambda name, outputs: "")  # a done stage's outputs, in words
        self.setObjectName("stageList")
        self.setColumnCount(3)
        self.setHeaderLabels(["Stage", "State", "Detail"])
        self.setRootIsDecorated(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setColumnWidth(0, 80)
        self.setColumnWidth(1, 80)

    def refresh(self, model: RunModel) -> None:
        """Show the model's stages (rows are reused so the selection survives)."""
        names = list(model.stages)
        if [self.topLevelItem(i).text(0) for i in range(self.topLevelItemCount())] != names:
            self.clear()
            self.addTopLevelItems([QTreeWidgetItem([name, "", ""]) for name in names])
        for i, view in enumerate(model.stages.values()):
            self._fill(self.topLevelItem(i), view)

    def _fill(self, item: QTreeWidgetItem, view: StageView) -> None:
        state = view.state
        if state == "running":
            state = f"running {view.fraction * 100:.0f}%"
        item.setText(1, state)
        item.setForeground(1, QBrush(QColor(STATE_COLORS.get(view.state, "#8a8f98"))))
        detail = view.reason if view.state in ("failed", "cancelled", "stale") else view.message
        if view.state == "done":
            detail = self.describe(view.name, view.outputs)
        item.setText(2, detail)
        tip = (view.reason or detail) + (f"\nfix: {view.hint}" if view.hint else "")
        for col in range(3):
            item.setToolTip(col, tip)

    def detail(self, model: RunModel) -> str:
        """Rich text on the selected stage, else on the first one that needs attention."""
        views = list(model.stages.values())
        name = self.selected_stage()
        view = model.stages.get(name) if name else next(
            (v for v in views if v.state in ("failed", "cancelled", "stale")), None)
        if view is None:
            return ""
        text = f"<b>{html.escape(view.name)}</b>: {html.escape(view.state)}"
        said = view.reason or (self.describe(view.name, view.outputs) if view.state == "done" else "")
        if said:
            text += f"<br>{html.escape(said)}"
        if view.hint:
            text += f"<br><i>fix: {html.escape(view.hint)}</i>"
        return text

    def selected_stage(self) -> str | None:
        """Name of the selected stage, if any."""
        items = self.selectedItems()
        return items[0].text(0) if items else None
