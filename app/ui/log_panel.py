"""The log panel: pipeline log lines, appended as they arrive, warnings and errors coloured."""

from __future__ import annotations

import html
import time

from PySide6.QtWidgets import QPlainTextEdit, QWidget

from .run_model import LOG_LIMIT, LogLine, RunModel

LEVEL_COLORS = {"debug": "#8a8f98", "warning": "#e0a526", "error": "#ff6b6b"}  # info: theme text


class LogPanel(QPlainTextEdit):
    """Read-only view of the model's log, appending only the lines it has not shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("logPanel")
        self.setReadOnly(True)
        self.setMaximumBlockCount(LOG_LIMIT)
        self.shown = 0

    def refresh(self, model: RunModel) -> None:
        """Append the model's new lines."""
        if model.log_total < self.shown:  # the model was replaced (another project)
            self.reset()
        for line in model.new_lines(self.shown):
            self.appendHtml(self._format(line))
        self.shown = model.log_total

    def reset(self) -> None:
        """Forget every line (a new project is shown)."""
        self.clear()
        self.shown = 0

    @staticmethod
    def _format(line: LogLine) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(line.t))
        color = LEVEL_COLORS.get(line.level)
        text = html.escape(line.text).replace("\n", "<br>")
        if color:
            text = f'<span style="color:{color}">{text}</span>'
        return (f'<span style="color:#7d8590">{stamp} [{html.escape(line.stage)}]</span> {text}')
