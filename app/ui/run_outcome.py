"""After a run's process ended: take the project back, and record a crash as a failed stage.

Qt-free. A run that ends normally leaves project.json consistent (each stage done, failed or
cancelled). A process that died (SIGKILL from the OOM killer, a segfault in native code) leaves its
stage "running": that stage is marked failed with how the process ended and its last output
lines, in project.json and in logs/events.jsonl, and resumes from its checkpoint on the next run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from app.cli import EXIT_CANCELLED, EXIT_FAILED, EXIT_OK, EXIT_USAGE
from app.pipeline.errors import ProjectError, SpaceportError
from app.pipeline.events import Event, JsonlSink, Log, StageFailed
from app.pipeline.project import Project

from .child_run import RunEnd

CRASH_HINT = "the stage resumes from its last checkpoint"
SIGNAL_WORDS = {
    "SIGKILL": "was killed (SIGKILL: the system may have run out of memory, or another program "
               "ended it)",
    "SIGSEGV": "crashed (SIGSEGV: a segmentation fault in native code)",
    "SIGABRT": "aborted (SIGABRT)",
    "SIGBUS": "crashed (SIGBUS: a bad memory access)",
}


@dataclass
class RunOutcome:
    """The project as the run left it, and what the window should say about the end."""

    end: RunEnd
    project: Project | None = None  # reloaded from project.json
    locked: bool = False  # the window holds the project's lock again
    lock_error: ProjectError | None = None
    crashed_stage: str | None = None
    events: list[Event] = field(default_factory=list)  # what closing out added to the log

    @property
    def summary(self) -> str:
        """One line for the status bar."""
        end = self.end
        if end.detached:
            return "the run goes on in the background; reopen the project to follow it"
        if end.error:
            return f"the run could not start: {end.error}"
        if self.crashed_stage:
            return f"the run {how_it_ended(end)} during {self.crashed_stage}; press Run to resume"
        code = end.returncode
        if code is None and self.project is not None:  # a followed run: its states tell
            states = {rec.state for rec in self.project.stages.values()}
            code = (EXIT_FAILED if "failed" in states else EXIT_CANCELLED if "cancelled" in states
                    else EXIT_OK)
        refused = self.refusal
        if refused is not None:
            return f"the run did not start: {refused.message.splitlines()[0]}"
        return {EXIT_OK: "finished", EXIT_FAILED: "stopped: a stage failed (see the stage list)",
                EXIT_CANCELLED: "cancelled; press Run to resume"}.get(
            code, "the run did not start: see the log")

    @property
    def refusal(self) -> SpaceportError | None:
        """Why the run's process refused to start (its `error:` block), when it did."""
        if self.end.returncode != EXIT_USAGE or self.crashed_stage:
            return None
        return cli_refusal(self.end.stderr_tail)

    @property
    def needs_output(self) -> bool:
        """True when the process's own last output lines explain the end better than events."""
        code = self.end.returncode
        return bool(self.crashed_stage) or code not in (None, EXIT_OK, EXIT_FAILED, EXIT_CANCELLED)


def cli_refusal(lines: list[str]) -> SpaceportError | None:
    """The error `spaceport` printed before any stage ran: its last 'error: MESSAGE' line and
    the lines after it up to its '  file:', '  fix:' and '  next:' lines (cli.main's format)."""
    start = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].startswith("error: ")), None)
    if start is None:
        return None
    message, fix = [lines[start][len("error: "):]], ""
    tags = ("  file: ", "  fix: ", "  next: ")
    for line in lines[start + 1:]:
        if line.startswith("  fix: "):
            fix = line[len("  fix: "):]
        elif not line.startswith(tags) and not fix:
            message.append(line)
    return SpaceportError("\n".join(message), hint=fix)


def how_it_ended(end: RunEnd) -> str:
    """e.g. 'was killed (SIGKILL: ...)', 'exited with code 3'."""
    if end.forced:
        return "was ended by Force stop"
    sig = end.signal
    if sig:
        return SIGNAL_WORDS.get(sig, f"was ended by {sig}")
    if end.returncode is None:
        return "ended without finishing its stage"
    return f"exited with code {end.returncode} without finishing its stage"


def close_out(root: Path, end: RunEnd) -> RunOutcome:
    """Reload the project, take its lock, and mark a stage the process left running as failed."""
    outcome = RunOutcome(end)
    if end.detached:
        return outcome
    project = Project.open(root, create=False)
    outcome.project = project
    try:
        project.lock()
    except ProjectError as exc:  # someone else took it between the child's exit and now
        outcome.lock_error = exc
        return outcome
    outcome.locked = True
    stage = next((name for name, rec in project.stages.items() if rec.state == "running"), None)
    if stage is not None:
        outcome.crashed_stage = stage
        outcome.events = record_crash(project, stage, end)
    return outcome


def record_crash(project: Project, stage: str, end: RunEnd) -> list[Event]:
    """Mark `stage` failed with how the process ended; append that to events.jsonl."""
    reason = f"the run's process {how_it_ended(end)}"
    rec = project.record(stage)
    rec.state, rec.reason, rec.hint, rec.finished = "failed", reason, CRASH_HINT, time.time()
    rec.action = "resume"
    project.save()
    events: list[Event] = []
    if end.stderr_tail:
        events.append(Log(stage=stage, level="error",
                          text="last lines of the run's output:\n" + "\n".join(end.stderr_tail)))
    events.append(StageFailed(stage=stage, reason=reason, hint=CRASH_HINT, action="resume"))
    log = JsonlSink(project.paths.events)
    try:
        for event in events:
            log(event)
    finally:
        log.close()
    return events
