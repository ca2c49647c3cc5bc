"""Terminal rendering of pipeline events: progress bars, log lines and a final summary."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import TextIO

from .pipeline.events import (CloudJobStatus, Event, Log, Progress, SfmStats, StageFailed,
                              StageFinished, StageStarted, TrainMetrics)


ACTION_WORDS = {  # the pipeline's next steps (app/pipeline/errors.py), worded for a terminal
    "resume": "run the same command again to resume",
    "rerun": "run the same command again",
    "fix_input": "fix what the message names, then run the same command again",
    "fix_project": "repair or replace the project folder (the message names the file)",
    "create_project": "create it with `spaceport process FLIGHT_DIR -o PROJECT`",
    "wait": "wait for the other run to end, or close the window that has the project open",
    "configure_cloud": "set the cloud settings with --set cloud.KEY=VALUE, or train with --train-on local",
    "approve_cost": "approve the estimate at the prompt, or pass --yes",
    "free_disk": "free disk space there (or use another -o PROJECT folder), then run the "
                 "same command again",
    "report_bug": "please report it with the project's logs/events.jsonl",
}


def action_words(action: str) -> str:
    """The terminal's wording of a machine-readable next step ('' when there is none)."""
    if action.startswith("relax_setting:"):
        setting = action.split(":", 1)[1]
        return f"if the result is good enough for you, relax it: --set {setting}=VALUE"
    return ACTION_WORDS.get(action, "")


class JsonLinesPrinter:
    """Prints every event as one JSON line (for scripts: `--json`)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out: TextIO | None = out or sys.stdout  # per instance: redirected streams work

    def __call__(self, event: Event) -> None:
        if self.out is None:
            return
        try:
            self.out.write(json.dumps(event.to_dict(), default=str) + "\n")
            self.out.flush()
        except BrokenPipeError:
            self._reader_gone()

    def _reader_gone(self) -> None:
        """The reader closed the pipe (a window detached from this run): the run goes on, and its
        events still reach logs/events.jsonl; stdout points at the null device from now on (as the
        Python docs advise for SIGPIPE), so exit does not fail flushing it."""
        if self.out is sys.stdout:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, sys.stdout.fileno())
            os.close(null)
        self.out = None


class ConsolePrinter:
    """Human output: one progress bar per running stage, warnings and stage results."""

    BAR = 28

    def __init__(self, out: TextIO | None = None, verbose: bool = False) -> None:
        self.out = out or sys.stderr  # looked up per instance, so redirected/captured streams work
        self.verbose = verbose
        self.tty = self.out.isatty()
        self._last_draw = 0.0
        self._bar_open = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, Progress):
            self._bar(event.stage, event.fraction, event.message)
        elif isinstance(event, StageStarted):
            self._line(f"[{event.stage}] {'resuming' if event.resumed else 'starting'}")
        elif isinstance(event, StageFinished):
            self._line(f"[{event.stage}] {'already done' if event.skipped else 'done'}")
        elif isinstance(event, StageFailed):
            word = "cancelled" if event.cancelled else "FAILED"
            then = action_words(event.action)
            self._line(f"[{event.stage}] {word}: {event.reason}" + (f"\n  fix: {event.hint}" if event.hint else "")
                       + (f"\n  next: {then}" if then else ""))
        elif isinstance(event, Log):
            if event.level in ("warning", "error") or (self.verbose and event.level == "info"):
                self._line(f"[{event.stage}] {event.level}: {event.text}")
            elif event.level == "info":
                self._line(f"[{event.stage}] {event.text}")
        elif isinstance(event, TrainMetrics):
            psnr = f" psnr {event.psnr:.2f}" if event.psnr is not None else ""
            self._bar(event.stage, event.step / max(event.total_steps, 1),
                      f"step {event.step}/{event.total_steps} loss {event.loss:.4f}{psnr} "
                      f"{event.num_gaussians} gaussians {event.it_per_s:.1f} it/s")
        elif isinstance(event, SfmStats):
            self._bar(event.stage, -1, f"{event.phase} registered {event.registered_images}/"
                      f"{event.images_total} points {event.points}")
        elif isinstance(event, CloudJobStatus):
            self._line(f"[{event.stage}] cloud job {event.job_name}: {event.status}"
                       f"{' / ' + event.secondary_status if event.secondary_status else ''}"
                       f"{' - ' + event.message if event.message else ''}")

    def _bar(self, stage: str, fraction: float, message: str) -> None:
        now = time.monotonic()
        if not self.tty:
            if now - self._last_draw >= 2.0 or fraction >= 1.0:
                self._last_draw = now
                pct = f"{fraction * 100:5.1f}% " if fraction >= 0 else ""
                self.out.write(f"[{stage}] {pct}{message}\n")
                self.out.flush()
            return
        if now - self._last_draw < 0.1 and 0 <= fraction < 1.0:
            return
        self._last_draw = now
        if fraction >= 0:
            filled = int(self.BAR * fraction)
            bar = f"[{'#' * filled}{'.' * (self.BAR - filled)}] {fraction * 100:5.1f}% "
        else:
            bar = ""
        text = f"\r[{stage}] {bar}{message}"
        self.out.write(text[:160].ljust(100))
        self.out.flush()
        self._bar_open = True

    def _line(self, text: str) -> None:
        if self._bar_open:
            self.out.write("\n")
            self._bar_open = False
        self.out.write(text + "\n")
        self.out.flush()
