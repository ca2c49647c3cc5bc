"""The window's one run at a time: a child process it started, or a run it follows.

Starting hands the project lock to the child (the window holds none while it runs); the child's
events are forwarded as they arrive; stopping is a clean SIGTERM; detaching leaves the run going.
When the run ends the controller takes the lock back and closes the run out (run_outcome.py),
so the window always gets one `ended(RunOutcome)` per run, whatever happened to the process.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Signal

from app.pipeline.errors import ProjectError
from app.pipeline.events import Event
from app.pipeline.project import Project

from .child_run import AttachedRun, ChildRun, RunEnd
from .event_tail import EventTail
from .run_outcome import close_out, record_crash

FORCE_AFTER_S = 20.0  # how long a run may take to stop cleanly before Force stop is offered


@dataclass
class Opened:
    """What opening a project found: the lock taken, or who holds it and whether that is a run."""

    locked: bool
    lock_error: ProjectError | None = None
    events: list[Event] = field(default_factory=list)  # a crash found and recorded on open
    following_run: bool = False  # a pipeline run holds the project; Cancel may stop it


def run_arguments(until: str | None = None, from_stage: str | None = None,
                  approved: bool = False) -> list[str]:
    """`spaceport process` options for a run until / from a stage; `approved`: the cost was."""
    args = []
    if until:
        args += ["--until", until]
    if from_stage:
        args += ["--from", from_stage]
    if approved:
        args.append("--yes")
    return args


class RunController(QObject):
    """Starts, follows, stops and closes out the open project's runs."""

    events = Signal(object)  # list[Event] of the current run, on the UI thread
    ended = Signal(object)  # RunOutcome, once per run

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.run: ChildRun | AttachedRun | None = None
        self.root: Path | None = None
        self.stopping = False
        self.stop_asked: float | None = None  # monotonic time of the clean stop's request

    @property
    def busy(self) -> bool:
        """True while a run is started or followed."""
        return self.run is not None

    @property
    def own(self) -> bool:
        """True while the run is a child this window started."""
        return isinstance(self.run, ChildRun)

    @property
    def pid(self) -> int | None:
        """The run's process id (None until a child has started)."""
        return self.run.pid if self.run is not None else None

    def take(self, project: Project, tail: EventTail) -> Opened:
        """Take a just-opened project's lock, or follow the process that holds it; a stage a
        dead process left running is recorded as failed."""
        try:
            project.lock()
        except ProjectError as exc:
            holder = project.lock_holder() or {}
            running = any(r.state == "running" for r in project.stages.values())
            run_here = running and holder.get("host") == socket.gethostname()
            if holder.get("pid"):
                self.attach(project, tail, int(holder["pid"]), stoppable=run_here)
            return Opened(False, None if run_here else exc, following_run=run_here)
        crashed = next((n for n, r in project.stages.items() if r.state == "running"), None)
        # a stale lock: the run's process died while no window watched it
        return Opened(True, events=record_crash(project, crashed, RunEnd()) if crashed else [])

    def start(self, project: Project, args: list[str]) -> None:
        """Hand the lock over and start `spaceport process` with `args` on the project."""
        if self.busy:
            raise RuntimeError("a run is already going")
        project.unlock()
        run = ChildRun(project, args, parent=self)
        self._adopt(run, project.root)
        run.start()

    @property
    def can_stop(self) -> bool:
        """True while there is a run this window may stop (its own, or a followed run)."""
        return self.run is not None and not self.stopping and self.run.stoppable

    def attach(self, project: Project, tail: EventTail, pid: int, stoppable: bool) -> None:
        """Follow process `pid` (holding the project) through its event log until it lets go;
        `stoppable`: it is a pipeline run that Cancel may stop (not another window)."""
        if self.busy:
            raise RuntimeError("a run is already going")
        run = AttachedRun(project, tail, pid, stoppable, parent=self)
        self._adopt(run, project.root)
        run.start()

    def stop(self) -> None:
        """Ask the run to stop cleanly; `ended` follows once it has."""
        if self.run is not None:
            self.stopping = True
            self.stop_asked = time.monotonic()
            self.run.stop()

    @property
    def can_force(self) -> bool:
        """True when a clean stop was asked FORCE_AFTER_S ago and the run still goes (a step
        that cannot be interrupted, or a process that ignores SIGTERM)."""
        return (self.run is not None and self.stopping and self.run.stoppable
                and self.stop_asked is not None
                and time.monotonic() - self.stop_asked >= FORCE_AFTER_S)

    def kill(self) -> None:
        """Force the run's process to end now (SIGKILL); its stage is closed out as failed and
        resumes from its last checkpoint; `ended` follows."""
        if self.run is not None and self.run.stoppable:
            self.stopping = True
            self.run.kill()

    def detach(self) -> None:
        """Stop following the run and leave it running; `ended` (detached) comes before return."""
        run = self.run
        if run is None:
            return
        run.ended.disconnect(self._ended)
        run.detach()
        self._ended(RunEnd(detached=True))

    def wait_ended(self, timeout_s: float) -> bool:
        """Process events until the run has ended (shutdown only); False on timeout."""
        deadline = time.monotonic() + timeout_s
        while self.busy and time.monotonic() < deadline:
            QCoreApplication.processEvents()
            time.sleep(0.01)
        return not self.busy

    def _adopt(self, run: ChildRun | AttachedRun, root: Path) -> None:
        self.run, self.root, self.stopping, self.stop_asked = run, root, False, None
        run.events.connect(self.events)
        run.ended.connect(self._ended)

    def _ended(self, end: RunEnd) -> None:
        run, self.run = self.run, None
        if isinstance(run, ChildRun):
            run.wait()  # `ended` is the thread's last act
        if run is not None:
            run.deleteLater()
        self.stopping, self.stop_asked = False, None
        self.ended.emit(close_out(self.root, end))
