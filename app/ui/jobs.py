"""Qt-free jobs the window hands to its worker: run the project's stages, logging every event."""

from __future__ import annotations

from typing import Callable, Sequence

from app.pipeline.events import Event, EventBus, JsonlSink
from app.pipeline.project import Project
from app.pipeline.runner import Runner
from app.pipeline.stage import CancelToken, Stage


def run_stages(project: Project, stages: Sequence[Stage], emit: Callable[[Event], None],
               cancel: CancelToken, from_stage: str | None = None,
               until: str | None = None) -> bool:
    """Run `stages` on an already locked project, appending events to logs/events.jsonl."""
    log = JsonlSink(project.paths.events)
    try:
        runner = Runner(project, stages, emit=EventBus(log, emit), cancel=cancel)
        return runner.run(until=until, from_stage=from_stage)
    finally:
        log.close()
