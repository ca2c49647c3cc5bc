"""The run state the window shows, fed by pipeline events; Qt-free, so it knows no widget.

Widgets subscribe to topics ("stages", "progress", "sfm", "train", "log", "preview") and redraw
from the model; replaying `logs/events.jsonl` through `apply` rebuilds the charts of past runs.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from app.pipeline.events import (CloudJobStatus, Event, Log, PreviewSnapshot, Progress, SfmStats,
                                 StageFailed, StageFinished, StageStarted, TrainMetrics)
from app.pipeline.project import StageRecord

from .hints import hint_label, window_hint

TOPICS = ("stages", "progress", "sfm", "train", "log", "preview")
LOG_LIMIT = 5000  # lines kept for the log panel; older ones stay in logs/events.jsonl


@dataclass
class StageView:
    """What the stage list shows of one stage."""

    name: str
    state: str = "pending"
    reason: str = ""
    hint: str = ""
    action: str = ""  # StageFailed.action: the next step, worded by the front end
    fraction: float = 0.0
    message: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    started: float | None = None  # unix seconds of this attempt's start
    finished: float | None = None
    cloud_job: str = ""  # the cloud job this running stage tracks

    def elapsed(self, now: float) -> float | None:
        """Seconds this attempt ran (so far, while running)."""
        if self.started is None:
            return None
        end = self.finished if self.finished is not None else now
        return max(0.0, end - self.started) if self.state != "pending" else None


@dataclass
class SfmSeries:
    """SfM statistics of the latest SfM run, as series over seconds since it started."""

    seconds: list[float] = field(default_factory=list)
    registered: list[int] = field(default_factory=list)
    points: list[int] = field(default_factory=list)
    reprojection_error: list[float] = field(default_factory=list)
    histogram: dict[str, int] = field(default_factory=dict)  # bin label -> points, in bin order
    latest: SfmStats | None = None
    t0: float | None = None


@dataclass
class TrainSeries:
    """Training metrics of the latest training run, as series over steps."""

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    gaussians: list[int] = field(default_factory=list)
    it_per_s: list[float] = field(default_factory=list)
    psnr_step: list[int] = field(default_factory=list)
    psnr: list[float] = field(default_factory=list)
    latest: TrainMetrics | None = None


@dataclass(frozen=True)
class LogLine:
    """One line of the log panel."""

    t: float
    stage: str
    level: str
    text: str


class RunModel:
    """Stage states, chart series, log lines and the latest preview of one project."""

    def __init__(self, stage_names: Iterable[str], root: Path | None = None) -> None:
        self.root = root
        self.stages: dict[str, StageView] = {n: StageView(n) for n in stage_names}
        self.sfm = SfmSeries()
        self.train = TrainSeries()
        self.log: deque[LogLine] = deque(maxlen=LOG_LIMIT)
        self.log_total = 0  # lines ever appended, so a panel can append only what is new
        self.preview: Path | None = None
        self.running: str | None = None
        self._last_progress: dict[str, tuple[float, str]] = {}  # stage -> (fraction, message)
        self._listeners: list[Callable[[str], None]] = []

    # -- binding -------------------------------------------------------------------------------
    def subscribe(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call `listener(topic)` after each change; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _changed(self, *topics: str) -> None:
        for topic in topics:
            for listener in list(self._listeners):
                listener(topic)

    # -- feeding -------------------------------------------------------------------------------
    def load_records(self, records: Mapping[str, StageRecord]) -> None:
        """Take stage states from project.json (the truth after a run or on open)."""
        for name, view in self.stages.items():
            rec = records.get(name) or StageRecord()
            view.state, view.reason, view.hint = rec.state, rec.reason, rec.hint
            view.action = rec.action
            view.outputs = dict(rec.outputs)
            view.fraction = 1.0 if rec.state == "done" else 0.0
            view.message, view.cloud_job = "", ""
            if rec.state == "running":  # followed from the log: where it had got to
                view.fraction, view.message = self._last_progress.get(name, (0.0, ""))
            view.started, view.finished = rec.started, rec.finished
        self.running = next((n for n, v in self.stages.items() if v.state == "running"), None)
        self._changed("stages", "progress")

    def replay(self, events: Iterable[Event]) -> None:
        """Apply past events (charts, log, preview) without touching stage states."""
        for event in events:
            self._apply(event, states=False)
        self.running = None
        self._changed(*TOPICS)

    def apply(self, event: Event) -> None:
        """Apply one live event."""
        self._changed(*self._apply(event, states=True))

    def _apply(self, event: Event, states: bool) -> tuple[str, ...]:
        view = self.stages.get(event.stage) if states else None
        if isinstance(event, Progress):
            self._last_progress[event.stage] = (event.fraction, event.message)
        elif isinstance(event, TrainMetrics) and event.total_steps:
            self._last_progress[event.stage] = (event.step / event.total_steps,
                                                f"step {event.step}/{event.total_steps}")
        if isinstance(event, StageStarted):
            self._started(event)
            if view:
                view.state, view.reason, view.hint, view.action = "running", "", "", ""
                view.fraction, view.message, view.cloud_job = 0.0, "", ""
                view.started, view.finished = event.t, None
                self.running = event.stage
            self._line(event, "info", "resuming" if event.resumed else "started")
            return "stages", "progress", "log", "sfm", "train"
        if isinstance(event, Progress):
            if view:
                view.fraction, view.message = self._last_progress[event.stage]
            return "progress", "stages"
        if isinstance(event, Log):
            self._line(event, event.level, event.text)
            return ("log",)
        if isinstance(event, SfmStats):
            self._sfm(event)
            return ("sfm",)
        if isinstance(event, TrainMetrics):
            self._train(event)
            if view and event.total_steps:
                view.fraction, view.message = self._last_progress[event.stage]
            return "train", "progress", "stages"
        if isinstance(event, PreviewSnapshot):
            self.preview = self._resolve(event.path)
            return ("preview",)
        if isinstance(event, CloudJobStatus):
            detail = " / ".join(x for x in (event.status, event.secondary_status, event.message) if x)
            if view and view.state == "running":
                view.cloud_job = event.job_name
            self._line(event, "info", f"cloud job {event.job_name}: {detail}")
            return ("log",)
        if isinstance(event, (StageFinished, StageFailed)) and self.running == event.stage:
            self.running = None
        if isinstance(event, StageFinished):
            if view and not event.skipped:
                view.state, view.fraction, view.message = "done", 1.0, ""
                view.outputs, view.finished = dict(event.outputs), event.t
            self._line(event, "info", "already done" if event.skipped else "finished")
            return "stages", "progress", "log"
        if isinstance(event, StageFailed):
            if view:
                view.state = "cancelled" if event.cancelled else "failed"
                view.reason, view.hint = event.reason, event.hint
                view.action = event.action
                view.finished, view.cloud_job = event.t, ""
            state = "cancelled" if event.cancelled else "failed"
            text = event.reason if event.reason.startswith(state) else f"{state}: {event.reason}"
            fix = window_hint(event.hint, event.action)
            self._line(event, "warning" if event.cancelled else "error",
                       text + (f" ({hint_label(state)}: {fix})" if fix else ""))
            return "stages", "progress", "log"
        return ()

    def will_run(self, stage: str, until: str | None, from_stage: str | None) -> bool:
        """Whether a run until `until` (None: all), rerunning from `from_stage`, runs `stage`."""
        names = list(self.stages)
        if stage not in names or (until and names.index(until) < names.index(stage)):
            return False
        forced = from_stage is not None and names.index(from_stage) <= names.index(stage)
        return forced or self.stages[stage].state != "done"

    # -- helpers -------------------------------------------------------------------------------
    def _started(self, event: StageStarted) -> None:
        if event.resumed:
            return
        if event.stage == "sfm":
            self.sfm = SfmSeries()
        elif event.stage == "train":
            self.train = TrainSeries()

    def _sfm(self, event: SfmStats) -> None:
        s = self.sfm
        if s.t0 is None:
            s.t0 = event.t
        s.seconds.append(event.t - s.t0)
        s.registered.append(event.registered_images)
        s.points.append(event.points)
        s.reprojection_error.append(event.mean_reprojection_error)
        if event.track_length_histogram:
            s.histogram = {str(k): int(v) for k, v in event.track_length_histogram.items()}
        s.latest = event

    def _train(self, event: TrainMetrics) -> None:
        s = self.train
        if s.step and event.step < s.step[-1]:  # a restart from an earlier checkpoint
            keep = sum(1 for x in s.step if x < event.step)
            del s.step[keep:], s.loss[keep:], s.gaussians[keep:], s.it_per_s[keep:]
            keep_p = sum(1 for x in s.psnr_step if x < event.step)
            del s.psnr_step[keep_p:], s.psnr[keep_p:]
        s.step.append(event.step)
        s.loss.append(event.loss)
        s.gaussians.append(event.num_gaussians)
        s.it_per_s.append(event.it_per_s)
        if event.psnr is not None and math.isfinite(event.psnr):
            s.psnr_step.append(event.step)
            s.psnr.append(event.psnr)
        s.latest = event

    def _line(self, event: Event, level: str, text: str) -> None:
        self.log.append(LogLine(event.t, event.stage, level, text))
        self.log_total += 1

    def _resolve(self, path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() or self.root is None else self.root / p

    def new_lines(self, shown: int) -> list[LogLine]:
        """Log lines appended after the first `shown` (all kept lines if more were dropped)."""
        missing = self.log_total - shown
        if missing <= 0:
            return []
        lines = list(self.log)
        return lines[-missing:] if missing < len(lines) else lines
