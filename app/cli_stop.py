"""How the command line stops a run: the first Ctrl-C or SIGTERM asks for a clean stop, a
second Ctrl-C aborts at once.

A clean stop goes through the cancel token, which every stage checks between units of work
(a local stage checkpoints and ends; a followed cloud job is detached, never stopped).
KeyboardInterrupt is kept for the second Ctrl-C only: raised at an arbitrary point (inside a
library's cleanup it can even be swallowed), it cannot be the normal way to stop.
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from typing import Iterator

from .pipeline.cancel import CancelToken


@contextmanager
def stop_on_signals(cancel: CancelToken, what: str = "the run") -> Iterator[None]:
    """Within the block, SIGTERM and a first Ctrl-C cancel `cancel`; a second Ctrl-C aborts."""

    def on_signal(signum: int, frame: object) -> None:
        if signum == signal.SIGINT and cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()
        if signum == signal.SIGINT:
            print(f"\nstopping {what} at its next checkpoint (Ctrl-C again to abort now)",
                  file=sys.stderr)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
