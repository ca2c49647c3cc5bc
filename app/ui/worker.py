"""The one generic worker: runs a pipeline job off the UI thread and forwards its events.

napari's generator-worker pattern adapted to the pipeline's emit callback: the job calls
`emit(event)` from the worker thread, the worker re-emits it as a Qt signal, and Qt queues it to
slots living on the UI thread. Pipeline code never sees Qt.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal

from app.pipeline.events import Event
from app.pipeline.stage import CancelToken

Job = Callable[[Callable[[Event], None], CancelToken], Any]


class PipelineWorker(QThread):
    """Runs `job(emit, cancel)` in a thread; `event`, `returned` and `errored` arrive on the UI thread."""

    event = Signal(object)
    returned = Signal(object)
    errored = Signal(object)

    def __init__(self, job: Job, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._job = job
        self.cancel_token = CancelToken()

    def run(self) -> None:  # noqa: D401 - QThread entry point
        """Call the job in this thread, reporting its result or exception by signal."""
        try:
            result = self._job(self.event.emit, self.cancel_token)
        except BaseException as exc:  # noqa: BLE001 - the UI decides how to show any failure
            self.errored.emit(exc)
        else:
            self.returned.emit(result)

    def cancel(self) -> None:
        """Ask the job to stop at its next cancel checkpoint."""
        self.cancel_token.cancel()
