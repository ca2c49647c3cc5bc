"""The runner: order, skip-when-current, stale propagation, rerun-from, cancel and resume."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from app.console import ConsolePrinter
from app.pipeline.errors import StageError
from app.pipeline.events import StageFailed, StageFinished
from app.pipeline.project import Project
from app.pipeline.runner import Runner
from app.pipeline.stage import Stage, StageContext


class Recorder(Stage):
    """A toy stage that counts its runs and can be told to fail or wait for cancel."""

    def __init__(self, name: str, upstream: tuple[str, ...] = (), fail: bool = False,
                 cancel_after: bool = False, bug: bool = False) -> None:
        self.name, self.upstream, self.fail, self.cancel_after = name, upstream, fail, cancel_after
        self.bug = bug
        self.runs = 0

    def run(self, ctx: StageContext) -> dict:
        self.runs += 1
        ctx.progress(0.5, "half way")
        if self.fail:
            raise StageError("broken input", hint="fix it", action="relax_setting:sfm.min_points")
        if self.bug:
            raise ZeroDivisionError("division by zero")
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
    assert project.record("sfm").reason == "sfm.backend pycolmap -> opensfm"
    reloaded = Project.open(project.root)
    assert reloaded.record("train").state == "stale"
    Runner(project, stages, events.append).run()
    assert [s.runs for s in stages] == [1, 2, 2]


def test_a_stage_downstream_of_a_failed_rerun_stays_stale_whoever_looks(tmp_path):
    project, stages, events = make(tmp_path)
    Runner(project, stages, events.append).run()
    project.settings.sfm.backend = "opensfm"  # sfm (and train after it) must be made again
    stages[1].fail = True
    assert not Runner(project, stages, events.append).run()
    assert Runner(project, stages, events.append).refresh_states() == {
        "ingest": "done", "sfm": "failed", "train": "stale"}  # e.g. `status` after `process`
    assert Project.open(project.root).record("train").reason == "an upstream stage changed"


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
    assert (rec.state, rec.reason, rec.hint, rec.action) == ("failed", "broken input", "fix it",
                                                             "relax_setting:sfm.min_points")
    assert stages[2].runs == 0
    assert any(isinstance(e, StageFailed) and e.reason == "broken input"
               and e.action == "relax_setting:sfm.min_points" for e in events)


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


def test_a_cancelled_or_broken_stage_says_what_to_do_next_without_naming_a_front_end(tmp_path):
    project, stages, events = make(tmp_path, cancel_after=True)
    Runner(project, stages, events.append).run()
    stages[1].cancel_after, stages[1].bug = False, True
    Runner(project, stages, events.append).run()
    cancelled, bug = [e for e in events if isinstance(e, StageFailed)]
    assert (cancelled.cancelled, cancelled.action) == (True, "resume")
    assert (bug.cancelled, bug.action) == (False, "report_bug") and "ZeroDivisionError" in bug.reason
    for event in (cancelled, bug):
        assert "same command" not in event.hint and "spaceport" not in event.hint
    out = io.StringIO()
    ConsolePrinter(out)(cancelled)  # the terminal words the action for itself
    assert "next: run the same command again to resume" in out.getvalue()


ENGINE = ("runner.py", "project.py", "stage.py", "hardware.py", "export.py", "project_export.py",
          "settings.py", "cloud/*.py", "compress/*.py", "train/*.py", "formats/*.py")


def _hints(path: Path) -> list[str]:
    """The text of every hint= argument (string parts of literals and f-strings) in a module."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "hint":
                    found.append(" ".join(c.value for c in ast.walk(kw.value)
                                          if isinstance(c, ast.Constant) and isinstance(c.value, str)))
    return found


def test_engine_hints_name_no_command_line():
    """Front-end-neutral hints: the CLI words actions ("run the same command again"), the window its own."""
    root = Path(__file__).parents[1] / "app" / "pipeline"
    paths = [p for pattern in ENGINE for p in root.glob(pattern)]
    hints = [(p.name, h) for p in paths for h in _hints(p)]
    assert len(hints) > 40
    for name, hint in hints:
        assert "same command" not in hint and "spaceport " not in hint and "--set" not in hint, (name, hint)
