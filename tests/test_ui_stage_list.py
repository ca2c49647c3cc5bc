"""The stage list in the window's sidebar: each stage's detail is shown in full, however long."""

from __future__ import annotations

import os

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFontMetrics

from app.pipeline.events import StageFailed, StageFinished, StageStarted
from app.ui.resources import resource
from app.ui.run_model import RunModel
from app.ui.stage_list import DETAIL, StageList

LONG_REASON = ("Only 0 of 18 images in /media/operator/card/DCIM/100MEDIA are usable; at least 3 "
               "are needed. Unusable: DJI_0018.JPG: not an image: the content is not JPEG or TIFF")
SHORT = "18/18 images usable"


def sidebar_list(qtbot, width: int = 380) -> tuple[StageList, RunModel]:
    """A stage list as wide as the window's sidebar, showing a failed ingest and a done SfM."""
    lst = StageList(describe=lambda name, outputs: SHORT)
    lst.setStyleSheet(resource("style.qss").read_text(encoding="utf-8"))  # the app's padding
    qtbot.addWidget(lst)
    lst.resize(width, 400)
    lst.show()
    model = RunModel(["ingest", "sfm"])
    for event in (StageStarted(stage="ingest"), StageFailed(stage="ingest", reason=LONG_REASON),
                  StageStarted(stage="sfm"), StageFinished(stage="sfm", outputs={"x": 1})):
        model.apply(event)
    lst.refresh(model)
    return lst, model


def text_height(lst: StageList, text: str) -> int:
    """Height of `text` wrapped at word boundaries a little narrower than the Detail column
    (its margins), in pixels."""
    width = lst.columnWidth(DETAIL) - 12
    flags = int(Qt.TextFlag.TextWordWrap)
    return QFontMetrics(lst.font()).boundingRect(QRect(0, 0, width, 10_000), flags, text).height()


def row_height(lst: StageList, row: int) -> int:
    return lst.visualItemRect(lst.topLevelItem(row)).height()


def test_a_long_detail_wraps_onto_as_many_lines_as_it_needs_instead_of_being_cut_off(qtbot):
    lst, _ = sidebar_list(qtbot)
    line = QFontMetrics(lst.font()).lineSpacing()
    qtbot.waitUntil(lambda: row_height(lst, 0) >= text_height(lst, LONG_REASON), timeout=5000)
    assert text_height(lst, LONG_REASON) >= 3 * line  # long enough to need several lines here
    assert lst.topLevelItem(0).text(DETAIL) == LONG_REASON  # the whole text, not an elided one
    assert row_height(lst, 1) < 2 * line  # a short detail keeps a one-line row


def test_a_wider_list_gives_the_same_detail_fewer_lines(qtbot):
    lst, _ = sidebar_list(qtbot)
    qtbot.waitUntil(lambda: row_height(lst, 0) >= text_height(lst, LONG_REASON), timeout=5000)
    narrow = row_height(lst, 0)
    lst.resize(1200, 400)
    qtbot.waitUntil(lambda: row_height(lst, 0) < narrow, timeout=5000)
    assert row_height(lst, 0) >= text_height(lst, LONG_REASON)


def test_a_detail_that_changes_length_while_running_resizes_its_row(qtbot):
    lst, model = sidebar_list(qtbot)
    model.apply(StageStarted(stage="ingest"))
    lst.refresh(model)
    line = QFontMetrics(lst.font()).lineSpacing()
    qtbot.waitUntil(lambda: row_height(lst, 0) < 2 * line, timeout=5000)  # no detail yet
    model.apply(StageFailed(stage="ingest", reason=LONG_REASON))
    lst.refresh(model)
    qtbot.waitUntil(lambda: row_height(lst, 0) >= text_height(lst, LONG_REASON), timeout=5000)


def test_with_nothing_running_or_failed_the_list_says_what_to_press_next(qtbot):
    lst = StageList()
    qtbot.addWidget(lst)
    model = RunModel(["ingest", "sfm", "train"])
    assert lst.detail(model).startswith("<b>Ready.</b> Press Run to process the flight")
    for stage in ("ingest", "sfm"):
        model.apply(StageStarted(stage=stage))
        model.apply(StageFinished(stage=stage, outputs={}))
    assert lst.detail(model) == "<b>Next: Training.</b> Press Run to go on."
    model.apply(StageStarted(stage="train"))
    model.apply(StageFinished(stage="train", outputs={}))
    assert lst.detail(model) == "All stages are done."


def test_a_longer_time_narrows_the_detail_column_and_its_rows_grow_to_fit(qtbot):
    lst, model = sidebar_list(qtbot)
    qtbot.waitUntil(lambda: row_height(lst, 0) >= text_height(lst, LONG_REASON), timeout=5000)
    model.stages["sfm"].started, model.stages["sfm"].finished = 0.0, 3 * 3600.0 + 65
    lst.refresh(model)  # "3 h 01 min": the Time column widens, Detail narrows
    qtbot.waitUntil(lambda: row_height(lst, 0) >= text_height(lst, LONG_REASON), timeout=5000)
