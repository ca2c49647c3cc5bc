"""Where pipeline work happens for the window: in a child process, never in the window's own.

pycolmap and torch hold the interpreter for seconds at a time, which froze a window that ran them
in a thread of its own (ARCHITECTURE.md). `ChildProcess` starts a `spaceport ... --json`
subcommand and a QThread reads its JSON event lines from stdout and forwards them in batches as a
signal: `ChildRun` is a pipeline run (`spaceport process -o PROJECT --json`, the same Runner as
the command line), the export dialog starts `spaceport export ... --json` the same way.
`AttachedRun` follows a run that another window started (logs/events.jsonl and the lock's pid).
All end with a `RunEnd`; all stop with SIGTERM, which the CLI turns into its cancel token (a
cloud stage detaches instead of stopping the job; an export leaves its destination as it was).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QThread, QTimer, Signal

from app.pipeline.events import Event, Log, event_from_dict
from app.pipeline.project import Project

from .event_tail import EventTail

TAIL_LINES = 20  # last lines of the child's stderr shown when it crashes
POLL_S = 0.1  # how often the reader looks for a detach request while the child is quiet
# the children's CPU priority below the window's: a busy machine serves the window before them,
# an idle one gives them all the same (measured small either way: bench/child_priority.py)
CHILD_NICE = 10


def spaceport_command(*args: str) -> list[str]:
    """The command line of a `spaceport` subcommand in this installation (checkout or bundle),
    at the lower CPU priority of the window's children."""
    if getattr(sys, "frozen", False):  # a PyInstaller bundle: its executable is the CLI
        return [sys.executable, "--nice", str(CHILD_NICE), *args]
    return [sys.executable, "-m", "app", "--nice", str(CHILD_NICE), *args]


def signal_name(returncode: int | None) -> str | None:
    """'SIGKILL' for a process killed by signal 9 (returncode -9), else None."""
    if returncode is None or returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def last_lines(path: Path, n: int = TAIL_LINES) -> list[str]:
    """The last `n` non-empty lines of a text file (empty when it does not exist)."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, 2) - 16384))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()][-n:]


@dataclass(frozen=True)
class RunEnd:
    """How a run's process ended: its exit code (None when unknown: attached or not started)."""

    returncode: int | None = None
    detached: bool = False  # the window stopped following; the process runs on
    error: str = ""  # the process could not be started
    stderr_tail: list[str] = field(default_factory=list)
    forced: bool = False  # the operator ended it with Force stop (SIGKILL)

    @property
    def signal(self) -> str | None:
        """The signal that killed the process, e.g. 'SIGKILL'."""
        return signal_name(self.returncode)


def parse_lines(lines: list[bytes]) -> list[Event]:
    """Events from JSON lines; anything else the child printed becomes a debug Log line."""
    events: list[Event] = []
    for raw in lines:
        text = raw.decode("utf-8", errors="replace").strip()
        if not text:
            continue
        try:
            events.append(event_from_dict(json.loads(text)))
        except (ValueError, KeyError, TypeError):
            events.append(Log(stage="run", level="debug", text=text))
    return events


class ChildProcess(QThread):
    """Starts `command` (JSON event lines on stdout, stderr to `stderr_path`) and forwards its
    events; `ended` comes once."""

    events = Signal(object)  # list[Event], on the UI thread
    ended = Signal(object)  # RunEnd
    stoppable = True

    def __init__(self, command: list[str], stderr_path: Path,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.command, self.stderr_path = command, stderr_path
        self.proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._pending_signal: int | None = None
        self._forced = False
        self._detach = threading.Event()

    @property
    def pid(self) -> int | None:
        """The child's process id once it started."""
        return self.proc.pid if self.proc is not None else None

    def stop(self) -> None:
        """Ask the child to stop cleanly (SIGTERM: a stage checkpoints; a cloud stage detaches)."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """Force the child and whatever it started to end now (SIGKILL to its process group);
        the stage stays resumable from its last checkpoint."""
        with self._lock:
            self._forced = True
            if self.proc is None:
                self._pending_signal = signal.SIGKILL
            elif self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: its own group
                except ProcessLookupError:
                    pass

    def detach(self) -> None:
        """Stop following the run and leave it running (its events still reach events.jsonl);
        returns once the reader has let go (within POLL_S)."""
        self._detach.set()
        self.wait()

    def _signal(self, sig: int) -> None:
        with self._lock:
            if self.proc is None:
                self._pending_signal = sig  # sent as soon as the child exists
            elif self.proc.poll() is None:
                self.proc.send_signal(sig)

    def run(self) -> None:  # noqa: D401 - QThread entry point
        """Start the child, forward its event lines, report how it ended."""
        try:
            proc = self._start()
        except OSError as exc:
            self.ended.emit(RunEnd(error=f"cannot start {self.command[0]}: {exc}"))
            return
        self._forward(proc)
        if self._detach.is_set():
            proc.stdout.close()  # the child's next event line finds no reader and goes quiet
            threading.Thread(target=proc.wait, daemon=True).start()  # reap it when it ends
            return  # the controller reported the detached end itself
        returncode = proc.wait()
        proc.stdout.close()
        self.ended.emit(RunEnd(returncode=returncode, stderr_tail=last_lines(self.stderr_path),
                               forced=self._forced))

    def _start(self) -> subprocess.Popen:
        self.stderr_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONFAULTHANDLER": "1", "PYTHONUNBUFFERED": "1"}
        with open(self.stderr_path, "wb") as stderr, self._lock:
            # own session: a Ctrl-C in the window's terminal does not reach it, and it outlives
            # a window that closes with "keep running"
            self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=stderr, env=env,
                                         start_new_session=True)
            if self._pending_signal is not None:
                self.proc.send_signal(self._pending_signal)
        return self.proc

    def _forward(self, proc: subprocess.Popen) -> None:
        fd = proc.stdout.fileno()
        pending = b""
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while not self._detach.is_set():
                if not sel.select(POLL_S):
                    if proc.poll() is not None:
                        break  # ended; a process it started may still hold the pipe open
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                *lines, pending = (pending + chunk).split(b"\n")
                events = parse_lines(lines)
                if events:
                    self.events.emit(events)
        if pending and not self._detach.is_set():
            self.events.emit(parse_lines([pending]))


class ChildRun(ChildProcess):
    """`spaceport process` on a project (the window's pipeline run)."""

    def __init__(self, project: Project, args: list[str], parent: QObject | None = None) -> None:
        super().__init__(spaceport_command("process", "-o", str(project.root), "--json", *args),
                         project.paths.run_stderr, parent)


class AttachedRun(QObject):
    """Follows a run that another process (a window's child, the CLI) holds the project for."""

    events = Signal(object)  # list[Event]
    ended = Signal(object)  # RunEnd

    def __init__(self, project: Project, tail: EventTail, pid: int, stoppable: bool,
                 interval_ms: int = 200, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project, self.tail, self.pid, self.stoppable = project, tail, pid, stoppable
        self._forced = False
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._poll)

    def start(self) -> None:
        """Begin following (events already in the log were replayed by the window)."""
        self._timer.start()

    def stop(self) -> None:
        """Ask the run's process to stop cleanly (SIGTERM)."""
        self._send(signal.SIGTERM)

    def kill(self) -> None:
        """Force the run's process to end now (SIGKILL)."""
        self._forced = True
        self._send(signal.SIGKILL)

    def _send(self, sig: int) -> None:
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def detach(self) -> None:
        """Stop following; the run goes on."""
        self._timer.stop()

    def _poll(self) -> None:
        events = self.tail.read_new()
        if events:
            self.events.emit(events)
        if self.project.lock_holder() is not None:
            return
        self._timer.stop()
        late = self.tail.read_new()  # what it wrote between the read and its exit
        if late:
            self.events.emit(late)
        self.ended.emit(RunEnd(stderr_tail=last_lines(self.project.paths.run_stderr),
                               returncode=-signal.SIGKILL if self._forced else None,
                               forced=self._forced))
