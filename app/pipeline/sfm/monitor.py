"""Watching a long pycolmap call: forward the user's cancel to pycolmap and poll progress."""

from __future__ import annotations

import threading
from typing import Callable

import pycolmap

from ..stage import CancelToken


class PycolmapCall:
    """Context manager around one blocking pycolmap call.

    While the call runs, a thread checks the stage's cancel token (cancelling pycolmap's own
    token, which its extraction, matching and undistortion loops honour) and calls `poll`
    every `interval` seconds so the stage can emit progress, and once more at the end. On exit,
    a cancel raises Cancelled.
    """

    def __init__(self, cancel: CancelToken, poll: Callable[[], None] | None = None,
                 interval: float = 1.0) -> None:
        self.cancel = cancel
        self.poll = poll
        self.interval = interval
        self.token = pycolmap.CancellationToken()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="pycolmap-monitor", daemon=True)

    def __enter__(self) -> "PycolmapCall":
        self.cancel.check()
        self._thread.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.cancel.check()
        if exc_type is None and self.poll is not None:
            self.poll()  # the final state, also for calls shorter than one interval

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            if self.cancel.cancelled:
                self.token.cancel()
            if self.poll is not None:
                try:
                    self.poll()
                except Exception:  # progress is best effort; the call itself reports errors
                    pass
