"""The window's background pool: every piece of work that is not a pipeline run (loading a model,
thumbnails, export, preflight, sorting splats) runs here, never on the UI thread.

A task is a plain function `fn(task)` that may call `task.progress(fraction, message)` and
should return early when `task.cancelled`; its result, exception and progress arrive as calls on
the UI thread. Submitting with a `key` supersedes the previous task of that key: it is asked to
stop and whatever it still delivers is dropped, so only the newest sort or load lands.
"""

from __future__ import annotations

import sys
import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]
ProgressFn = Callable[[float, str], None]


class Task:
    """One submitted piece of work: what the function sees (progress, cancel) and its handle."""

    def __init__(self, key: str | None) -> None:
        self.key = key
        self._cancel = threading.Event()
        self._finished = threading.Event()
        self._relay: _Relay | None = None

    @property
    def cancelled(self) -> bool:
        """True once the task was cancelled or superseded; the function should return soon."""
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the function to stop; nothing it delivers afterwards reaches the callbacks."""
        self._cancel.set()

    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress (called from the worker thread; delivered on the UI thread)."""
        if self._relay is not None and not self.cancelled:
            self._relay.progressed.emit(self, max(0.0, min(1.0, float(fraction))), message)

    @property
    def done(self) -> bool:
        """True once the function has returned or raised."""
        return self._finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the function has returned (tests and shutdown only); False on timeout."""
        return self._finished.wait(timeout)


class _Relay(QObject):
    """Lives on the UI thread: its signals, emitted from a worker, are queued to the UI thread.

    Parentless and referenced by every runnable, so it outlives a pool that is closed while
    tasks still run (their late results then find no receiver instead of freed memory).
    """

    finished = Signal(object, bool, object)  # (task, succeeded, result or exception): once per task
    progressed = Signal(object, float, str)


class _Runnable(QRunnable):
    def __init__(self, fn: Callable[[Task], Any], task: Task, relay: _Relay) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the pool keeps the Python object alive until it has delivered
        self._fn, self._task, self._relay = fn, task, relay

    def run(self) -> None:  # noqa: D401 - QRunnable entry point
        """Call the function in a pool thread and relay its outcome."""
        ok, value = False, None
        try:
            if not self._task.cancelled:
                value, ok = self._fn(self._task), True
        except BaseException as exc:  # noqa: BLE001 - the submitter decides how to show it
            exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
            value = exc
        finally:
            self._task._finished.set()
            self._relay.finished.emit(self._task, ok, value)


class BackgroundPool(QObject):
    """A QThreadPool with UI-thread callbacks, supersede-by-key and cancel-all."""

    def __init__(self, max_threads: int | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        if max_threads:
            self._pool.setMaxThreadCount(max_threads)
        self._relay = _Relay()
        self._relay.finished.connect(self._deliver)
        self._relay.progressed.connect(self._progress)
        self._latest: dict[str, Task] = {}
        # each live task with its callbacks and runnable (a dropped wrapper would free what Qt runs)
        self._live: dict[Task, tuple[Done | None, Failed | None, ProgressFn | None, _Runnable]] = {}
        # where a failure goes when its task has no `failed` callback (the window shows it)
        self.unhandled: Failed = _print_failure

    def submit(self, fn: Callable[[Task], Any], *, key: str | None = None,
               done: Done | None = None, failed: Failed | None = None,
               progress: ProgressFn | None = None) -> Task:
        """Run `fn(task)` in the pool; `done(result)`, `failed(exc)`, `progress(f, msg)` run on
        the UI thread. A task with the `key` of a still-running one supersedes it."""
        task = Task(key)
        if key is not None and key in self._latest:
            self._latest[key].cancel()
        task._relay = self._relay
        if key is not None:
            self._latest[key] = task
        runnable = _Runnable(fn, task, self._relay)
        self._live[task] = (done, failed, progress, runnable)
        self._pool.start(runnable)
        return task

    def _deliver(self, task: Task, ok: bool, value: Any) -> None:
        done, failed, _, _ = self._live.pop(task, (None, None, None, None))
        if task.key is not None and self._latest.get(task.key) is task:
            del self._latest[task.key]
        if task.cancelled:
            return
        callback = done if ok else (failed or self.unhandled)
        if callback is not None:
            callback(value)

    def _progress(self, task: Task, fraction: float, message: str) -> None:
        entry = self._live.get(task)
        if entry is not None and entry[2] is not None and not task.cancelled:
            entry[2](fraction, message)

    def busy(self, key: str | None = None) -> bool:
        """True while any task (or the newest task of `key`) has not delivered yet."""
        if key is not None:
            return key in self._latest
        return bool(self._live)

    def cancel_all(self) -> None:
        """Ask every task to stop; their results are dropped."""
        for task in list(self._live):
            task.cancel()

    def wait_idle(self, timeout_ms: int = 30_000) -> bool:
        """Block until every running task has returned (shutdown and tests)."""
        return self._pool.waitForDone(timeout_ms)


def _print_failure(exc: BaseException) -> None:
    """Default for failures nobody handles: never silent."""
    text = getattr(exc, "__traceback_text__", "") or f"{type(exc).__name__}: {exc}"
    print(f"background task failed:\n{text}", file=sys.stderr)
