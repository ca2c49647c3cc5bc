"""Watching a long pycolmap call: forward the user's cancel to pycolmap's own token."""

from __future__ import annotations

import threading

import pycolmap

from ..stage import CancelToken


class PycolmapCall:
    """Context manager around one blocking pycolmap call.

    While the call runs, a thread checks the stage's cancel token and cancels pycolmap's own
    token (which its extraction, matching and undistortion loops honour); on exit, a cancel
    raises Cancelled. It never reads the database meanwhile: opening it while pycolmap
    writes makes pycolmap abort the process ("database is locked").
    """

    def __init__(self, cancel: CancelToken, interval: float = 0.5) -> None:
        self.cancel = cancel
        self.interval = interval
        self.token = pycolmap.CancellationToken()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="pycolmap-monitor", daemon=True)

    def __enter__(self) -> "PycolmapCall":
        self.cancel.check()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.cancel.check()

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            if self.cancel.cancelled:
                self.token.cancel()
