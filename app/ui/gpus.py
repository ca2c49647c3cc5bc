"""The CUDA GPUs of this computer, listed once per app by a `spaceport hardware --json` child.

Importing torch in the window would hold its interpreter for seconds (measured: a 340 ms
freeze even from a pool thread), so a child process asks torch, through QProcess: no thread
of the window waits for it either. Where training runs, and so the training stage's
fingerprint, depends on the list.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QObject, QProcess, QTimer, Signal
import shiboken6

from app.pipeline.hardware import GpuInfo

from .child_run import spaceport_command

_known: list[GpuInfo] | None = None  # GPUs do not change while the app runs


def known_gpus() -> list[GpuInfo] | None:
    """The GPUs once listed (None until the first probe has answered)."""
    return _known


def parse_gpus(output: str) -> list[GpuInfo]:
    """GPUs from `spaceport hardware --json` output (its last line)."""
    data = json.loads(output.strip().splitlines()[-1])
    return [GpuInfo(g["index"], g["name"], tuple(g["compute_capability"]), g["memory_gib"])
            for g in data["gpus"]]


class GpuProbe(QObject):
    """Lists the GPUs (once per app); `listed(gpus)` follows `start()`, also when it failed
    (an empty list, and `error` says why)."""

    listed = Signal(object)  # list[GpuInfo]

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.error = ""
        self._proc: QProcess | None = None

    def start(self) -> None:
        """Ask a child (unless the list is known already: then `listed` comes at once)."""
        if _known is not None:
            QTimer.singleShot(0, lambda: self.listed.emit(_known))
            return
        if self._proc is not None:
            return  # already asking
        command = spaceport_command("hardware", "--json")
        self._proc = QProcess(self)
        self._proc.finished.connect(self._finished)
        self._proc.errorOccurred.connect(lambda _: self._finished(-1, None))
        self._proc.start(command[0], command[1:])

    def stop(self) -> None:
        """Kill a probe still running (the window closes); `listed` does not come."""
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.finished.disconnect()
            proc.errorOccurred.disconnect()  # a killed probe is no answer
            proc.kill()
            proc.waitForFinished(5000)

    def _finished(self, code: int, _status: object) -> None:
        global _known
        proc, self._proc = self._proc, None
        if proc is None:
            return  # errorOccurred and finished both came
        if not shiboken6.isValid(proc):
            return  # destroyed with its owner (QProcess says errorOccurred as it goes): no answer
        out = bytes(proc.readAllStandardOutput()).decode(errors="replace")
        try:
            gpus = parse_gpus(out) if code == 0 else []
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            gpus, self.error = [], f"unreadable answer ({exc})"
        if code != 0:
            err = bytes(proc.readAllStandardError()).decode(errors="replace").strip()
            self.error = (err.splitlines() or [proc.errorString()])[-1]
        proc.deleteLater()
        _known = gpus
        self.listed.emit(gpus)
