"""The background pool: work off the UI thread, results on it, newest-wins by key, never silent."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("pytestqt")

from app.ui.pool import BackgroundPool  # noqa: E402


def test_result_and_progress_arrive_on_the_ui_thread(qtbot):
    pool = BackgroundPool()
    ui_thread = threading.get_ident()
    seen: dict = {"progress": []}

    def work(task):
        seen["worker"] = threading.get_ident()
        task.progress(0.5, "half")
        return 42

    pool.submit(work, done=lambda r: seen.update(result=r, done_thread=threading.get_ident()),
                progress=lambda f, m: seen["progress"].append((f, m, threading.get_ident())))
    qtbot.waitUntil(lambda: "result" in seen, timeout=5000)
    assert seen["result"] == 42
    assert seen["worker"] != ui_thread and seen["done_thread"] == ui_thread
    assert seen["progress"] == [(0.5, "half", ui_thread)]
    assert not pool.busy()


def test_a_newer_task_of_the_same_key_supersedes_the_older(qtbot):
    pool = BackgroundPool()
    release = threading.Event()
    results = []

    def slow(task):
        release.wait(5)
        return "old" if task.cancelled else "old-but-not-cancelled"

    old = pool.submit(slow, key="sort", done=results.append)
    new = pool.submit(lambda task: "new", key="sort", done=results.append)
    assert old.cancelled and not new.cancelled
    release.set()
    qtbot.waitUntil(lambda: not pool.busy(), timeout=5000)
    assert results == ["new"]


def test_a_failure_reaches_its_callback_or_the_unhandled_route(qtbot):
    pool = BackgroundPool()
    errors, unhandled = [], []
    pool.unhandled = unhandled.append

    def boom(task):
        raise ValueError("bad file")

    pool.submit(boom, failed=errors.append)
    pool.submit(boom)
    qtbot.waitUntil(lambda: len(errors) == 1 and len(unhandled) == 1, timeout=5000)
    assert isinstance(errors[0], ValueError) and "bad file" in errors[0].__traceback_text__


def test_cancel_all_drops_results_and_wait_idle_returns(qtbot):
    pool = BackgroundPool()
    results = []

    def loop(task):
        while not task.cancelled:
            time.sleep(0.01)
        return "stopped"

    pool.submit(loop, done=results.append)
    pool.cancel_all()
    assert pool.wait_idle(5000)
    qtbot.waitUntil(lambda: not pool.busy(), timeout=5000)
    assert results == []


def test_cycles_holding_qt_objects_are_collected_on_the_ui_thread_only(qtbot):
    import gc
    import threading
    import weakref

    from PySide6.QtCore import QObject

    from app.ui.app import create_application

    create_application()
    assert not gc.isenabled()  # no collection in whichever thread happens to allocate
    collected_in: list[str] = []

    class Cyclic(QObject):
        def __del__(self) -> None:
            collected_in.append(threading.current_thread().name)

    obj = Cyclic()
    obj.me = obj  # a reference cycle: only the collector frees it
    alive = weakref.ref(obj)
    del obj
    kept: list[list[int]] = []
    worker = threading.Thread(target=lambda: kept.extend([i] for i in range(20_000)),
                              name="worker")
    worker.start()
    worker.join()  # allocations that would have triggered a collection in the worker
    assert alive() is not None
    qtbot.waitUntil(lambda: alive() is None, timeout=5000)  # the UI thread's timer collects
    assert collected_in == [threading.main_thread().name]
