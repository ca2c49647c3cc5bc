"""Stopping a command-line run: the first Ctrl-C or SIGTERM is a clean stop, a second Ctrl-C aborts."""

from __future__ import annotations

import os
import signal
import time

import pytest

from app.cli_stop import stop_on_signals
from app.pipeline.cancel import CancelToken


def _deliver(signum: int) -> None:
    os.kill(os.getpid(), signum)
    time.sleep(0.05)  # Python runs the handler at the next bytecode boundary


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_first_signal_cancels_instead_of_raising(signum):
    cancel = CancelToken()
    with stop_on_signals(cancel):
        _deliver(signum)
        assert cancel.cancelled


def test_a_second_ctrl_c_aborts_at_once():
    cancel = CancelToken()
    with pytest.raises(KeyboardInterrupt), stop_on_signals(cancel):
        _deliver(signal.SIGINT)
        _deliver(signal.SIGINT)


def test_the_previous_handlers_come_back_afterwards():
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with stop_on_signals(CancelToken()):
        assert signal.getsignal(signal.SIGINT) is not before[0]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
