"""The cloud panel's settings form: profile, region, bucket, role, images and instance type,
each validated as it is edited and saved through the window (as `--set cloud.NAME=...`)."""

from __future__ import annotations

from typing import Callable

import boto3
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.pipeline.cloud.instances import INSTANCE_TYPES
from app.pipeline.project import Project

from .cloud_panel_model import FIELDS, problems, validate
from .pool import BackgroundPool

ERROR_STYLE = "color: #f87171"
COMBOS = ("profile", "region", "train_instance_type")


def available_profiles() -> tuple[str, ...]:
    """Profile names of the user's AWS config files (no network, no credentials read)."""
    try:
        return tuple(boto3.Session().available_profiles)
    except Exception:  # an unreadable config: the profile field still takes a typed name
        return ()


def sagemaker_regions() -> list[str]:
    """Regions botocore knows SageMaker in (its bundled endpoint data: no network)."""
    return boto3.Session().get_available_regions("sagemaker")


class CloudSettingsForm(QWidget):
    """One field per cloud setting with its problem shown under it; valid edits are saved by
    `on_change(dotted, text)`, invalid ones are shown and not saved."""

    def __init__(self, pool: BackgroundPool, on_change: Callable[[str, str], bool],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pool, self._on_change = pool, on_change
        self.project: Project | None = None
        self.editable = False
        self.profiles: tuple[str, ...] = ()
        self._choices_asked = False
        self.fields: dict[str, QLineEdit | QComboBox] = {}
        self.errors: dict[str, QLabel] = {}
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        for f in FIELDS:
            widget = self._field_widget(f.name)
            widget.setToolTip(f.tip)
            widget.setObjectName(f"cloud_{f.name}")
            error = QLabel()
            error.setStyleSheet(ERROR_STYLE)
            error.setWordWrap(True)
            error.setVisible(False)
            column = QVBoxLayout()
            column.setSpacing(0)
            column.addWidget(widget)
            column.addWidget(error)
            form.addRow(f"{f.label}:", column)
            self.fields[f.name], self.errors[f.name] = widget, error

    def _field_widget(self, name: str) -> QLineEdit | QComboBox:
        if name in COMBOS:
            combo = QComboBox()
            combo.setEditable(name != "train_instance_type")
            if name == "train_instance_type":
                combo.addItems(list(INSTANCE_TYPES))
            combo.activated.connect(lambda _=0, n=name: self._edited(n))
            if combo.lineEdit() is not None:
                combo.lineEdit().editingFinished.connect(lambda n=name: self._edited(n))
            return combo
        edit = QLineEdit()
        edit.editingFinished.connect(lambda n=name: self._edited(n))
        return edit

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        """The first time the form is shown, list the AWS profiles and regions (in the pool)."""
        super().showEvent(event)
        if not self._choices_asked:
            self._choices_asked = True
            self.pool.submit(lambda task: (available_profiles(), sagemaker_regions()),
                             key="cloud-profiles", done=self._got_choices)

    def _got_choices(self, found: tuple[tuple[str, ...], list[str]]) -> None:
        self.profiles, regions = found
        for name, items in (("profile", ["", *self.profiles]), ("region", regions)):
            combo = self.fields[name]
            text = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(items)
            combo.setCurrentText(text)
            combo.blockSignals(False)

    def show_settings(self, project: Project | None) -> None:
        """Show the project's stored cloud settings and what of them does not validate."""
        self.project = project
        if project is None:
            return
        s = project.settings.cloud
        for f in FIELDS:
            widget, value = self.fields[f.name], str(getattr(s, f.name) or "")
            widget.blockSignals(True)
            if isinstance(widget, QComboBox):
                widget.setCurrentText(value)
            else:
                widget.setText(value)
            widget.blockSignals(False)
        found = problems(s, self.profiles)
        for f in FIELDS:
            self._show_error(f.name, found.get(f.name, "") if getattr(s, f.name) else "")

    def set_editable(self, editable: bool) -> None:
        """Fields can be edited only while the window could save them."""
        self.editable = editable
        for widget in self.fields.values():
            widget.setEnabled(editable)

    def show_problems(self) -> list[str]:
        """Mark every stored setting that does not validate; the labels of those fields."""
        if self.project is None:
            return []
        found = problems(self.project.settings.cloud, self.profiles)
        for f in FIELDS:
            self._show_error(f.name, found.get(f.name, ""))
        return [f.label for f in FIELDS if f.name in found]

    def _value(self, name: str) -> str:
        widget = self.fields[name]
        return (widget.currentText() if isinstance(widget, QComboBox) else widget.text()).strip()

    def _show_error(self, name: str, text: str) -> None:
        self.errors[name].setText(text)
        self.errors[name].setVisible(bool(text))

    def _edited(self, name: str) -> None:
        project = self.project
        if project is None or not self.editable:
            return
        value, settings = self._value(name), project.settings.cloud
        problem = validate(name, value, settings, self.profiles) if value else ""
        self._show_error(name, problem)
        stored = str(getattr(settings, name) or "")
        if problem or value == stored:
            return
        if self._on_change(f"cloud.{name}", value) and name == "region":
            for other in ("train_image", "compress_image"):  # checked against the region
                text = self._value(other)
                self._show_error(other, validate(other, text, settings) if text else "")
