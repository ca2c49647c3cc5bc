"""The settings tab: every stage's settings section, edited in place through `Settings.set`
(the same conversion and checks as `--set section.key=value` on the command line)."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

from app.pipeline.settings import Settings

DOTTED = Qt.ItemDataRole.UserRole


def show_value(value: Any) -> str:
    """A setting's value as the text `Settings.set` reads back."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def describe_type(tp: Any) -> str:
    """A short description of a field's type for its tooltip."""
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return "one of: " + ", ".join(map(str, typing.get_args(tp)))
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        text = " or ".join(describe_type(a) for a in args if a is not type(None))
        return text + (" (or none)" if type(None) in args else "")
    return getattr(tp, "__name__", str(tp))


class SettingsPanel(QTreeWidget):
    """Sections and their fields; editing a value calls `on_change("section.key", text)`."""

    def __init__(self, on_change: Callable[[str, str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsPanel")
        self.setColumnCount(2)
        self.setHeaderLabels(["Setting", "Value"])
        self.setColumnWidth(0, 260)
        self._on_change = on_change
        self.itemChanged.connect(self._edited)

    def show_settings(self, settings: Settings | None, editable: bool) -> None:
        """Fill the tree from `settings` (empty when no project is open)."""
        self.blockSignals(True)
        try:
            self.clear()
            if settings is None:
                return
            for section_field in dataclasses.fields(settings):
                section = getattr(settings, section_field.name)
                top = QTreeWidgetItem([section_field.name, ""])
                hints = typing.get_type_hints(type(section))
                for f in dataclasses.fields(section):
                    item = QTreeWidgetItem([f.name, show_value(getattr(section, f.name))])
                    item.setData(0, DOTTED, f"{section_field.name}.{f.name}")
                    item.setToolTip(1, describe_type(hints[f.name]))
                    if editable:
                        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
                    top.addChild(item)
                self.addTopLevelItem(top)
                top.setExpanded(True)
        finally:
            self.blockSignals(False)

    def _edited(self, item: QTreeWidgetItem, column: int) -> None:
        dotted = item.data(0, DOTTED)
        if column == 1 and dotted:
            self._on_change(dotted, item.text(1).strip())
