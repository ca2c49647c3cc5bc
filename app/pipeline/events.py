"""Events the pipeline emits for the CLI and the UI, and the sinks that receive them.

Every event is a small frozen dataclass with `stage` and a timestamp `t`; `to_dict` gives JSON
with a `type` field and `event_from_dict` rebuilds it, so `logs/events.jsonl` can be replayed.
Local stages and cloud jobs (parsed from their log lines) emit the same events.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of all events: which stage emitted it, and when (unix seconds)."""

    stage: str
    t: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the event's class name under `type`."""
        return {"type": type(self).__name__, **dataclasses.asdict(self)}


@dataclass(frozen=True, kw_only=True)
class StageStarted(Event):
    """A stage began (or resumed) work."""

    resumed: bool = False


@dataclass(frozen=True, kw_only=True)
class Progress(Event):
    """Fraction of the stage done (0..1) and what it is doing now."""

    fraction: float
    message: str = ""

    def __post_init__(self) -> None:
        # the one place a fraction is clamped: every stage, export and cloud job builds Progress
        fraction = float(self.fraction)
        object.__setattr__(self, "fraction", min(1.0, max(0.0, fraction)) if fraction == fraction else 0.0)


@dataclass(frozen=True, kw_only=True)
class Log(Event):
    """A line for the operator; level is debug, info, warning or error."""

    level: str = "info"
    text: str


@dataclass(frozen=True, kw_only=True)
class SfmStats(Event):
    """Structure-from-Motion statistics, sent as mapping proceeds and once at the end."""

    images_total: int = 0
    images_with_features: int = 0
    mean_features: float = 0.0
    matched_pairs: int = 0
    inlier_matches: int = 0
    registered_images: int = 0
    points: int = 0
    mean_track_length: float = 0.0
    mean_reprojection_error: float = 0.0
    track_length_histogram: dict[str, int] = field(default_factory=dict)
    phase: str = ""


@dataclass(frozen=True, kw_only=True)
class TrainMetrics(Event):
    """One training report: step, loss, optional held-out PSNR/SSIM, Gaussian count, speed."""

    step: int
    total_steps: int = 0
    loss: float = float("nan")
    psnr: float | None = None
    ssim: float | None = None
    num_gaussians: int = 0
    it_per_s: float = 0.0
    eta_s: float | None = None
    gpu_mem_mb: float | None = None


@dataclass(frozen=True, kw_only=True)
class PreviewSnapshot(Event):
    """A subsample of the current splats written to `path` (a PLY) for the viewer."""

    path: str
    step: int = 0
    num_gaussians: int = 0


@dataclass(frozen=True, kw_only=True)
class CloudJobStatus(Event):
    """State of a cloud job as the provider reports it."""

    job_name: str
    status: str
    secondary_status: str = ""
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class StageFinished(Event):
    """A stage completed; `outputs` names its files (relative to the project) and figures."""

    outputs: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False


@dataclass(frozen=True, kw_only=True)
class StageFailed(Event):
    """A stage stopped with a reason, a hint for the operator and the next step.

    `action` is machine-readable (see app/pipeline/errors.py: "resume", "rerun", "fix_input",
    "configure_cloud", "relax_setting:sfm.max_gps_residual_m", ...); each front end words it.
    """

    reason: str
    hint: str = ""
    cancelled: bool = False
    action: str = ""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (StageStarted, Progress, Log, SfmStats, TrainMetrics, PreviewSnapshot,
                CloudJobStatus, StageFinished, StageFailed)
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from `Event.to_dict` output (unknown keys are ignored)."""
    cls = EVENT_TYPES[data["type"]]
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


ProgressFn = Callable[[float, str], None]  # (fraction, message)


def progress_emitter(emit: Callable[[Event], None], stage: str) -> ProgressFn:
    """A progress(fraction, message) function that emits Progress events for `stage`."""
    return lambda fraction, message="": emit(Progress(stage=stage, fraction=fraction, message=message))


class Sink(Protocol):
    """Anything that accepts events."""

    def __call__(self, event: Event) -> None: ...


class EventBus:
    """Fans events out to sinks; thread-safe, a failing sink never stops the pipeline."""

    def __init__(self, *sinks: Sink) -> None:
        self._sinks: list[Sink] = list(sinks)
        self._lock = threading.Lock()

    def subscribe(self, sink: Sink) -> Callable[[], None]:
        """Add a sink; returns a function that removes it."""
        with self._lock:
            self._sinks.append(sink)
        return lambda: self._remove(sink)

    def _remove(self, sink: Sink) -> None:
        with self._lock:
            if sink in self._sinks:
                self._sinks.remove(sink)

    def __call__(self, event: Event) -> None:
        with self._lock:
            sinks = list(self._sinks)
        for sink in sinks:
            try:
                sink(event)
            except Exception as exc:  # e.g. logs/events.jsonl on a full disk: drop that sink, go on
                self._drop(sink, event, exc)

    def _drop(self, sink: Sink, event: Event, exc: Exception) -> None:
        """Detach a failing sink and tell the others once (it would fail again on every event)."""
        self._remove(sink)
        where = getattr(sink, "path", None) or type(sink).__name__
        self(Log(stage=event.stage, level="warning",
                 text=f"events are no longer written to {where}: {type(exc).__name__}: {exc}"))


class JsonlSink:
    """Appends each event as one JSON line (flushed per line, so a crash loses at most one)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = open(path, "a", encoding="utf-8")
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        line = json.dumps(event.to_dict(), default=str, allow_nan=True)
        with self._lock:
            if self._file.closed:
                return
            try:
                self._file.write(line + "\n")
                self._file.flush()
            except OSError:  # e.g. a full disk: stop writing (the bus reports it), keep what is there
                self._close_quietly()
                raise

    def close(self) -> None:
        """Close the file; later events are dropped."""
        with self._lock:
            self._close_quietly()

    def _close_quietly(self) -> None:
        try:
            self._file.close()
        except OSError:  # the unflushed tail of a failed write
            pass


def read_events(path: Path) -> list[Event]:
    """Replay a JSONL event log, skipping a torn last line left by a crash."""
    events: list[Event] = []
    if not path.exists():
        return events
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(event_from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            continue
    return events
