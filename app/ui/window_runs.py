"""What the window does around a run: what to run, the cloud cost asked first, the child
started (run_controller.py), its events shown as they come, and its end said in the window."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from app.pipeline.errors import SpaceportError
from app.pipeline.events import Event, StageFailed, StageFinished

from .cost_dialog import ask_cost_approval
from .dialogs import ask_force_stop
from .run_controller import run_arguments
from .run_outcome import RunOutcome
from .stage_list import stage_title

if TYPE_CHECKING:
    from .main_window import MainWindow


class WindowRuns:
    """Run, Run until, Rerun from and Cancel, and the window's side of a run's events."""

    def __init__(self, window: "MainWindow") -> None:
        self.window = window
        self._force_said = False  # the status bar said that Force stop is offered
        self.until: str | None = None  # the last stage of the run this window started
        window.runs.events.connect(self.on_events)
        window.runs.ended.connect(self.on_ended)

    def run(self, until: str | None = None, from_stage: str | None = None,
            approved: bool = False) -> bool:
        """Run the pipeline (resuming what is not done) until `until`, or rerun from
        `from_stage`; a run that will launch a cloud job first asks to approve its cost, unless
        `approved` (the cloud panel asked already)."""
        w = self.window
        if w.project is None or not w.holds_lock or w.busy:
            return False
        if w.project.source is None:
            return w.show_error(SpaceportError(f"Project {w.project.root} has no flight folder",
                                               hint="create it with New project from a flight"))
        names = w.stage_names
        if until == names[-1]:
            until = None
        if until and from_stage and names.index(until) < names.index(from_stage):
            until = from_stage
        placement = w.training_place.placement
        if not approved and placement is not None and placement.cloud and \
                w.model.will_run("train", until, from_stage):
            ask_cost_approval(w, placement.estimate, lambda yes: self._start(
                until, from_stage, True) if yes else w.status(
                "not started: the cloud cost was declined"))
            return True
        return self._start(until, from_stage, approved)

    def run_to_chosen_stage(self) -> bool:
        """Run until the stage chosen in Stop after."""
        return self.run(until=self.window.actions.chosen_stage())

    def rerun_selected(self) -> bool:
        """Rerun from the stage selected in the stage list (until Stop after)."""
        stage = self.window.stage_list.selected_stage()
        return bool(stage) and self.run(until=self.window.actions.chosen_stage(),
                                        from_stage=stage)

    def follow_cloud_job(self) -> bool:
        """Run on without asking (the cloud panel's reattach on reopen): a cloud job still
        going is followed again; a run that would launch a new one stops unapproved."""
        return self._start(None, None, approved=False)

    def _start(self, until: str | None, from_stage: str | None, approved: bool) -> bool:
        w = self.window
        if w.project is None or not w.holds_lock or w.busy:
            return False
        w.runs.start(w.project, run_arguments(until, from_stage, approved))
        self.until = until
        w.holds_lock = False
        what = f"from {from_stage}" if from_stage else "all" if until is None else f"until {until}"
        w.status(f"starting the run ({what})…")
        w.project_changed()
        return True

    def cancel(self) -> None:
        """Stop the run cleanly at its next checkpoint (a tracked cloud job is detached, never
        stopped); it stays resumable. Once a clean stop has gone unanswered for FORCE_AFTER_S,
        the same action offers Force stop, confirmed first."""
        w = self.window
        if w.runs.can_force:
            self.ask_force_stop()
        elif w.busy and not w.runs.stopping:
            w.runs.stop()
            self._force_said = False
            w.status("detaching from the cloud job…" if self.cloud_tracked() else
                     "cancelling: the stage stops at its next checkpoint…")
            w.flush()

    def ask_force_stop(self) -> None:
        """Ask before ending the run's process at once (SIGKILL); the stage resumes from its
        last checkpoint."""
        w = self.window
        running = w.model.running
        what = stage_title(running) if running else "The run"
        ask_force_stop(w, what, self._stopping_for(), self.cloud_tracked(),
                       lambda yes: self._force_stop() if yes else None)

    def _stopping_for(self) -> float:
        asked = self.window.runs.stop_asked
        return time.monotonic() - asked if asked is not None else 0.0

    def _force_stop(self) -> None:
        w = self.window
        if w.busy:
            w.runs.kill()
            w.status("force-stopping the run…")
            w.flush()

    def say_if_stuck(self) -> None:
        """Say once in the status bar that Force stop is offered (called on every redraw)."""
        w = self.window
        if w.runs.can_force and not self._force_said:
            self._force_said = True
            w.status(f"the run has not stopped {self._stopping_for():.0f} s after Cancel: "
                     "press Force stop to end it now (Run resumes from its last checkpoint)")

    def cloud_tracked(self) -> bool:
        """True while the running stage follows a cloud job (Cancel then detaches)."""
        model = self.window.model
        view = model.stages.get(model.running or "")
        return bool(view and view.cloud_job)

    def on_events(self, events: list[Event]) -> None:
        """Apply a batch of the run's events; reload what a stage that ended has written."""
        w = self.window
        for event in events:
            w.model.apply(event)
            ended = isinstance(event, StageFailed) or (isinstance(event, StageFinished)
                                                       and not event.skipped)
            if ended and w.project is not None:
                if event.stage in ("ingest", "sfm"):  # their reports are written either way
                    w.flight.load(w.project, editable=False)
                if isinstance(event, StageFinished):
                    w.page.load_scene(sparse=event.stage == "sfm")
        if w.model.running and not w.runs.stopping:
            view = w.model.stages[w.model.running]
            w.status(f"{view.name}: {view.message or 'running'}")

    def _stopped_as_asked(self, outcome: RunOutcome) -> str:
        """After a run that ended where Stop after said, with stages left: say so, and put Stop
        after back to everything so that Run goes on from there ('' otherwise)."""
        w, until, self.until = self.window, self.until, None
        if not until or outcome.summary != "finished" or w.project is None:
            return ""
        later = w.stage_names[w.stage_names.index(until) + 1:]
        if all(w.project.record(name).state == "done" for name in later):
            return ""
        w.actions.stop_after.setCurrentIndex(w.actions.stop_after.count() - 1)
        return (f"stopped after {stage_title(until)} as asked: inspect the result, then press "
                "Run to go on (Stop after is back to everything)")

    def on_ended(self, outcome: RunOutcome) -> None:
        """The run's process ended (or was left running): the project as it left it."""
        w = self.window
        if outcome.end.detached:
            w.status(outcome.summary)
            return
        if outcome.project is not None and w.project is not None and \
                outcome.project.root == w.project.root:
            w.project, w.holds_lock = outcome.project, outcome.locked
        for event in outcome.events:
            w.model.apply(event)
        if w.project is not None:
            w.model.load_records(w.project.stages)
        if outcome.lock_error is not None:
            w.show_error(outcome.lock_error, modal=False)
        details = "\n".join(outcome.end.stderr_tail) or "(it printed nothing)"
        if outcome.refusal is not None:  # refused before any stage: its reason and fix
            w.show_error(outcome.refusal, details=details)
        elif outcome.needs_output and not outcome.end.forced:  # Force stop: the operator knows
            w.show_error(SpaceportError(outcome.summary[0].upper() + outcome.summary[1:],
                                        hint="press Run to resume"), details=details)
        w.status(self._stopped_as_asked(outcome) or outcome.summary)
        w.project_changed()
        w.flush()
        if w.close_when_done:
            w.close()
