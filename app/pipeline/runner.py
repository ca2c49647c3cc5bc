"""Runs the registered stages in order: checks what it can before the first one starts, skips
what is done and current, resumes what was interrupted, reruns from a stage on request, marks
downstream stale when inputs change."""

from __future__ import annotations

import shutil
import time
import traceback
from typing import Any, Callable, Sequence

from .errors import Cancelled, InputError, SpaceportError
from .events import Event, Log, StageFailed, StageFinished, StageStarted
from .project import Project
from .fields import result_values
from .settings import fingerprint
from .stage import ApproveCost, CancelToken, Stage, StageContext, decline_cost

BUG_HINT = "this is a bug in Spaceport; the traceback is in logs/events.jsonl"
GB = 1024 ** 3


class Runner:
    """Drives a project's stages; the CLI and the UI's worker are thin wrappers around it.

    `approve_cost` is shown each cloud cost estimate before anything is uploaded (a terminal
    prompt, `--yes`, the window's dialog); without it, nothing is paid for.
    """

    def __init__(self, project: Project, stages: Sequence[Stage], emit: Callable[[Event], None],
                 cancel: CancelToken | None = None, approve_cost: ApproveCost | None = None) -> None:
        self.project = project
        self.stages = list(stages)
        self.emit = emit
        self.cancel = cancel or CancelToken()
        self._ask = approve_cost or decline_cost
        self._answers: dict[str, bool] = {}
        self._by_name = {s.name: s for s in self.stages}

    def names(self) -> list[str]:
        """Stage names in pipeline order."""
        return [s.name for s in self.stages]

    def index(self, name: str) -> int:
        """Position of a stage, or InputError listing the valid names."""
        if name not in self._by_name:
            raise InputError(f"Unknown stage {name!r}", hint=f"choose one of: {', '.join(self.names())}")
        return self.names().index(name)

    def basis(self, stage: Stage) -> dict[str, Any]:
        """What a stage's result depends on: its result-affecting settings, its extra inputs and
        its upstream runs (kept in its record, to say what changed when it goes stale)."""
        section = getattr(self.project.settings, stage.name, None)
        return {"settings": result_values(section) if section is not None else None,
                "inputs": stage.fingerprint_inputs(self.project),
                "upstream": {u: self.project.record(u).run_id for u in stage.upstream}}

    def fingerprint(self, stage: Stage, basis: dict[str, Any] | None = None) -> str:
        """Hash of the stage's `basis`."""
        basis = basis or self.basis(stage)
        settings = basis["settings"]
        return fingerprint({"settings": fingerprint(settings) if settings is not None else None,
                            "inputs": basis["inputs"], "upstream": basis["upstream"]})

    def approve_cost(self, estimate: Any) -> bool:
        """Ask once per estimate in this run whether its cost is approved."""
        if estimate.key not in self._answers:
            self._answers[estimate.key] = bool(self._ask(estimate))
        return self._answers[estimate.key]

    def refresh_states(self) -> dict[str, str]:
        """Mark done stages whose inputs changed, and everything downstream of them, stale; so
        is a done stage whose upstream is no longer done (failed or cancelled on its way to
        a new result), whichever command looks."""
        stale: set[str] = set()
        for stage in self.stages:
            rec = self.project.record(stage.name)
            upstream_stale = any(u in stale or self.project.record(u).state != "done"
                                 for u in stage.upstream)
            basis = self.basis(stage) if rec.state in ("done", "stale") else {}
            if rec.state in ("done", "stale") and (
                    upstream_stale or rec.fingerprint != self.fingerprint(stage, basis)):
                rec.state = "stale"
                rec.reason = ("an upstream stage changed" if upstream_stale else
                              what_changed(stage.name, rec.basis, basis)
                              or "its settings or inputs changed")
                stale.add(stage.name)
            elif rec.state == "stale":
                rec.state, rec.reason = "done", ""
            if rec.state == "stale":
                stale.add(stage.name)
        self.project.save()
        return {s.name: self.project.record(s.name).state for s in self.stages}

    def plan(self, until: str | None = None, from_stage: str | None = None) -> list[Stage]:
        """The stages a run would execute, in order (the rest are done and current)."""
        last = self.index(until) if until else len(self.stages) - 1
        first_forced = self.index(from_stage) if from_stage else None
        if first_forced is not None and first_forced > last:
            raise InputError(f"the rerun starts at {from_stage}, after the last stage asked for ({until})")
        todo: list[Stage] = []
        for i, stage in enumerate(self.stages[: last + 1]):
            rec = self.project.record(stage.name)
            forced = first_forced is not None and i >= first_forced
            current = rec.state == "done" and rec.fingerprint == self.fingerprint(stage)
            if forced or not current or any(u in {s.name for s in todo} for u in stage.upstream):
                todo.append(stage)
        return todo

    def run(self, until: str | None = None, from_stage: str | None = None) -> bool:
        """Run stages up to `until` (inclusive); `from_stage` forces a rerun from there on.

        Every check that needs no stage output runs first (Stage.preflight, free disk space).
        Returns True when every requested stage is done, False on failure or cancel.
        """
        self.refresh_states()
        todo = self.plan(until, from_stage)
        if not self._preflight(todo):
            return False
        last = self.index(until) if until else len(self.stages) - 1
        for stage in self.stages[: last + 1]:
            if stage not in todo:
                rec = self.project.record(stage.name)
                warning = stage.input_warning(self.project)
                if warning:
                    self.emit(Log(stage=stage.name, level="warning", text=warning))
                self.emit(StageFinished(stage=stage.name, outputs=rec.outputs, skipped=True))
            elif not self._run_one(stage):
                return False
        return True

    def _context(self, stage: Stage) -> StageContext:
        return StageContext(project=self.project, emit=self.emit, cancel=self.cancel,
                            stage=stage.name, approve_cost=self.approve_cost)

    def _preflight(self, todo: list[Stage]) -> bool:
        """Settings, hardware, cloud and disk checks of the stages to run, before any starts."""
        for stage in todo:
            ok, _ = self._attempt(stage.name, lambda s=stage: s.preflight(self._context(s)))
            if not ok:
                return False
        need = {s.name: s.expected_bytes(self.project) for s in todo}
        free = shutil.disk_usage(self.project.root).free
        if sum(need.values()) <= free:
            return True
        parts = ", ".join(f"{name} {_size(n)}" for name, n in need.items() if n)
        biggest = max(need, key=need.__getitem__)
        lower = " or lower the Gaussian budget (train.max_gaussians)" if biggest == "train" else ""
        error = InputError(f"Not enough free disk space in {self.project.root}: this run needs about "
                           f"{_size(sum(need.values()))} ({parts}), {_size(free)} are free",
                           hint=f"free some space there,{lower} or choose a project folder on a "
                                "disk with more room", action="free_disk")
        self._fail(biggest, "failed", error.message, error.hint, error.action)
        return False

    def _run_one(self, stage: Stage) -> bool:
        rec = self.project.record(stage.name)
        resumed = rec.state in ("running", "cancelled", "failed")
        rec.state, rec.reason, rec.hint, rec.action = "running", "", "", ""
        rec.started, rec.finished = time.time(), None
        rec.basis = self.basis(stage)
        rec.fingerprint = self.fingerprint(stage, rec.basis)
        self.project.save()
        self.emit(StageStarted(stage=stage.name, resumed=resumed))
        ok, outputs = self._attempt(stage.name, lambda: stage.run(self._context(stage)))
        if not ok:
            return False
        rec = self.project.record(stage.name)
        rec.state, rec.finished = "done", time.time()
        rec.run_id = self.project.new_run_id()
        rec.outputs = outputs or {}
        self.project.save()
        self.emit(StageFinished(stage=stage.name, outputs=rec.outputs))
        return True

    def _attempt(self, name: str, work: Callable[[], Any]) -> tuple[bool, Any]:
        """(True, result) of `work`, or (False, None) with the failure recorded and emitted."""
        try:
            return True, work()
        except Cancelled as exc:
            reason = f"cancelled by the user; {exc}" if str(exc) else "cancelled by the user"
            self._fail(name, "cancelled", reason, exc.hint, exc.action)
        except SpaceportError as exc:
            self._fail(name, "failed", exc.message, exc.hint, exc.action)
        except KeyboardInterrupt as exc:  # Ctrl-C: recorded, then the front end's to handle
            hint = "; ".join(getattr(exc, "__notes__", ())) or Cancelled.hint
            self._fail(name, "cancelled", "interrupted", hint, Cancelled.action)
            raise
        except Exception as exc:  # an unexpected bug: keep the traceback in the event log
            self.emit(Log(stage=name, level="debug", text=traceback.format_exc()))
            self._fail(name, "failed", f"{type(exc).__name__}: {exc}", BUG_HINT, "report_bug")
        return False, None

    def _fail(self, name: str, state: str, reason: str, hint: str, action: str) -> None:
        rec = self.project.record(name)
        rec.state, rec.reason, rec.hint, rec.action, rec.finished = state, reason, hint, action, time.time()
        self.project.save()
        self.emit(StageFailed(stage=name, reason=reason, hint=hint, cancelled=state == "cancelled",
                              action=action))


def what_changed(stage: str, before: dict[str, Any], now: dict[str, Any],
                 most: int = 3) -> str:
    """The differences between two bases of a stage, in words, e.g. 'train.cpu_max_steps
    1000 -> 500; resolved run.steps 1000 -> 500' ('' when `before` was not recorded)."""
    if not before or not now:
        return ""
    said = [f"{stage}.{key} {a} -> {b}" for key, a, b in _differences(
        before.get("settings") or {}, now.get("settings") or {})]
    said += [_input_words(key, a, b) for key, a, b in _differences(
        before.get("inputs") or {}, now.get("inputs") or {})]
    said += [f"{u} has a new result" for u, a, b in _differences(
        before.get("upstream") or {}, now.get("upstream") or {})]
    return "; ".join(said[:most]) + (f" (and {len(said) - most} more)" if len(said) > most else "")


def _differences(a: Any, b: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted key, before, now) for every leaf that differs between two JSON-like values."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for key in sorted(set(a) | set(b), key=str)
                for d in _differences(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))]
    return [] if a == b else [(path, a, b)]


def _input_words(key: str, before: Any, now: Any) -> str:
    if key == "listing":
        return "the flight folder is missing" if now is None else "the flight folder's files changed"
    if key == "source":
        return f"the flight folder is now {now}"
    return f"resolved {key} {before} -> {now}"


def _size(n: float) -> str:
    """'1.4 GB', '350 MB', '12 kB'."""
    if n >= GB:
        return f"{n / GB:.1f} GB"
    return f"{n / 1024 ** 2:.0f} MB" if n >= 1024 ** 2 else f"{n / 1024:.0f} kB"
