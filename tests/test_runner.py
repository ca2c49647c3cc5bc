"""The runner: order, skip-when-current, stale propagation, rerun-from, cancel and resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.pipeline.errors import StageError
from app.pipeline.events import StageFailed, StageFinished
from app.pipeline.project import Project
from app.pipeline.runner import Runner
from app.pipeline.stage import Stage, StageContext


class Recorder(Stage):
    """A toy stage that counts its runs and can be told to fail or wait for cancel."""

    def __init__(self, name: str, upstream: tuple[str, ...] = (), fail: bool = False,
                 cancel_after: bool = False) -> None:
        self.name, self.upstream, self.fail, self.cancel_after = name, upstream, fail, cancel_after
        self.runs = 0

    def run(self, ctx: StageContext) -> dict:
        self.runs += 1
        ctx.progress(0.5, "half way")
        if self.fail:
            raise StageError("broken input", hint="fix it")
        if self.cancel_after:
            ctx.cancel.cancel()
            ctx.cancel.check()
        return {"runs": self.runs}


def make(tmp_path: Path, **kw) -> tuple[Project, list[Recorder], list]:
    (tmp_path / "flight").mkdir()
    project = Project.open(tmp_path / "proj", source=tmp_path / "flight")
    stages = [Recorder("ingest"), Recorder("sfm", ("ingest",), **kw), Recorder("train", ("sfm",))]
    return project, stages, []


def test_runs_in_order_then_skips_what_is_done(tmp_path):
    project, stages, events = make(tmp_path)
    assert Runner(project, stages, events.append).run()
    assert [s.runs for s in stages] == [1, 1, 1]
    assert Runner(project, stages, events.append).run()
    assert [s.runs for s in stages] == [1, 1, 1]
    assert sum(isinstance(e, StageFinished) and e.skipped for e in events) == 3


def test_changed_setting_marks_that_stage_and_downstream_stale(tmp_path):
    project, stages, events = make(tmp_path)
    Runner(project, stages, events.append).run()
    project.settings.sfm.backend = "opensfm"
    states = Runner(project, stages, events.append).refresh_states()
    assert states == {"ingest": "done", "sfm": "stale", "train": "stale"}
    reloaded = Project.open(project.root)
    assert reloaded.record("train").state == "stale"
    Runner(project, stages, events.append).run()
    assert [s.runs for s in stages] == [1, 2, 2]


def test_until_and_explicit_rerun_from(tmp_path):
    project, stages, events = make(tmp_path)
    runner = Runner(project, stages, events.append)
    assert runner.run(until="sfm")
    assert [s.runs for s in stages] == [1, 1, 0]
    assert runner.run(from_stage="sfm")
    assert [s.runs for s in stages] == [1, 2, 1]


def test_failure_is_recorded_with_reason_and_stops_the_run(tmp_path):
    project, stages, events = make(tmp_path, fail=True)
    assert not Runner(project, stages, events.append).run()
    rec = Project.open(project.root).record("sfm")
    assert (rec.state, rec.reason, rec.hint) == ("failed", "broken input", "fix it")
    assert stages[2].runs == 0
    assert any(isinstance(e, StageFailed) and e.reason == "broken input" for e in events)


def test_cancel_leaves_a_resumable_state(tmp_path):
    project, stages, events = make(tmp_path, cancel_after=True)
    assert not Runner(project, stages, events.append).run()
    assert Project.open(project.root).record("sfm").state == "cancelled"
    stages[1].cancel_after = False
    assert Runner(project, stages, events.append).run()
    assert [s.runs for s in stages] == [1, 2, 1]


def test_unknown_stage_names_are_refused(tmp_path):
    project, stages, events = make(tmp_path)
    with pytest.raises(Exception, match="Unknown stage"):
        Runner(project, stages, events.append).run(until="nope")
