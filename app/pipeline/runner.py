"""Runs the registered stages in order: skips what is done and current, resumes what was
interrupted, reruns from a stage on request, marks downstream stale when inputs change."""

from __future__ import annotations

import time
import traceback
from typing import Any, Callable, Sequence

from .errors import Cancelled, InputError, SpaceportError
from .events import Event, Log, StageFailed, StageFinished, StageStarted
from .project import Project
from .settings import fingerprint
from .stage import CancelToken, Stage, StageContext


class Runner:
    """Drives a project's stages; the CLI and the UI's worker are thin wrappers around it."""

    def __init__(self, project: Project, stages: Sequence[Stage], emit: Callable[[Event], None],
                 cancel: CancelToken | None = None, options: dict[str, Any] | None = None) -> None:
        self.project = project
        self.stages = list(stages)
        self.emit = emit
        self.cancel = cancel or CancelToken()
        self.options = options or {}
        self._by_name = {s.name: s for s in self.stages}

    def names(self) -> list[str]:
        """Stage names in pipeline order."""
        return [s.name for s in self.stages]

    def index(self, name: str) -> int:
        """Position of a stage, or InputError listing the valid names."""
        if name not in self._by_name:
            raise InputError(f"Unknown stage {name!r}", hint=f"choose one of: {', '.join(self.names())}")
        return self.names().index(name)

    def fingerprint(self, stage: Stage) -> str:
        """Hash of the stage's settings, its extra inputs and its upstream stages' runs."""
        section = getattr(self.project.settings, stage.name, None)
        upstream = {u: self.project.record(u).run_id for u in stage.upstream}
        return fingerprint({"settings": fingerprint(section) if section is not None else None,
                            "inputs": stage.fingerprint_inputs(self.project),
                            "upstream": upstream})

    def refresh_states(self) -> dict[str, str]:
        """Mark done stages whose inputs changed, and everything downstream of them, stale."""
        stale: set[str] = set()
        for stage in self.stages:
            rec = self.project.record(stage.name)
            upstream_stale = any(u in stale for u in stage.upstream)
            if rec.state in ("done", "stale") and (upstream_stale or rec.fingerprint != self.fingerprint(stage)):
                rec.state = "stale"
                rec.reason = ("an upstream stage changed" if upstream_stale
                              else "its settings or inputs changed")
                stale.add(stage.name)
            elif rec.state == "stale":
                rec.state, rec.reason = "done", ""
            if rec.state == "stale":
                stale.add(stage.name)
        self.project.save()
        return {s.name: self.project.record(s.name).state for s in self.stages}

    def run(self, until: str | None = None, from_stage: str | None = None) -> bool:
        """Run stages up to `until` (inclusive); `from_stage` forces a rerun from there on.

        Returns True when every requested stage is done, False on failure or cancel.
        """
        last = self.index(until) if until else len(self.stages) - 1
        first_forced = self.index(from_stage) if from_stage else None
        if first_forced is not None and first_forced > last:
            raise InputError(f"--from {from_stage} comes after --until {until}")
        self.refresh_states()
        for i, stage in enumerate(self.stages[: last + 1]):
            rec = self.project.record(stage.name)
            forced = first_forced is not None and i >= first_forced
            if not forced and rec.state == "done" and rec.fingerprint == self.fingerprint(stage):
                self.emit(StageFinished(stage=stage.name, outputs=rec.outputs, skipped=True))
                continue
            if not self._run_one(stage):
                return False
        return True

    def _run_one(self, stage: Stage) -> bool:
        rec = self.project.record(stage.name)
        resumed = rec.state in ("running", "cancelled", "failed")
        rec.state, rec.reason, rec.hint = "running", "", ""
        rec.started, rec.finished = time.time(), None
        rec.fingerprint = self.fingerprint(stage)
        self.project.save()
        self.emit(StageStarted(stage=stage.name, resumed=resumed))
        ctx = StageContext(project=self.project, emit=self.emit, cancel=self.cancel,
                           stage=stage.name, options=self.options)
        try:
            outputs = stage.run(ctx)
        except Cancelled:
            self._fail(stage.name, "cancelled", "cancelled by the user",
                       "run the same command again to resume")
            return False
        except SpaceportError as exc:
            self._fail(stage.name, "failed", exc.message, exc.hint)
            return False
        except KeyboardInterrupt:
            self._fail(stage.name, "cancelled", "interrupted", "run the same command again to resume")
            raise
        except Exception as exc:  # an unexpected bug: keep the traceback in the event log
            self.emit(Log(stage=stage.name, level="debug", text=traceback.format_exc()))
            self._fail(stage.name, "failed", f"{type(exc).__name__}: {exc}",
                       "this is a bug in Spaceport; the traceback is in logs/events.jsonl")
            return False
        rec = self.project.record(stage.name)
        rec.state, rec.finished = "done", time.time()
        rec.run_id = self.project.new_run_id()
        rec.outputs = outputs or {}
        self.project.save()
        self.emit(StageFinished(stage=stage.name, outputs=rec.outputs))
        return True

    def _fail(self, name: str, state: str, reason: str, hint: str) -> None:
        rec = self.project.record(name)
        rec.state, rec.reason, rec.hint, rec.finished = state, reason, hint, time.time()
        self.project.save()
        self.emit(StageFailed(stage=name, reason=reason, hint=hint, cancelled=state == "cancelled"))
