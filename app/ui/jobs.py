"""Qt-free jobs the window hands to its worker: run the project's stages, logging every event."""

from __future__ import annotations

from typing import Callable, Sequence

from app.pipeline.events import Event, EventBus, JsonlSink
from app.pipeline.project import Project
from app.pipeline.runner import Runner
from app.pipeline.stage import CancelToken, Stage


def run_stages(project: Project, stages: Sequence[Stage], emit: Callable[[Event], None],
               cancel: CancelToken, from_stage: str | None = None,
               until: str | None = None, approved: bool = False) -> bool:
    """Run `stages` on an already locked project, appending events to logs/events.jsonl;
    `approved`: cloud costs were approved (as `--yes` does), else none is paid for."""
    log = JsonlSink(project.paths.events)
    try:
        runner = Runner(project, stages, emit=EventBus(log, emit), cancel=cancel,
                        approve_cost=lambda estimate: approved)
        return runner.run(until=until, from_stage=from_stage)
    finally:
        log.close()
