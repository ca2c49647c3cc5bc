"""The cancel token a front end sets and long-running code checks between units of work."""

from __future__ import annotations

import threading

from .errors import Cancelled


class CancelToken:
    """Set by the UI/CLI to ask the running stage to stop at its next checkpoint."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the pipeline to stop."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once cancel() was called."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise Cancelled if cancel() was called; call between units of work."""
        if self._event.is_set():
            raise Cancelled()
