"""Helpers of the SfM tests and bench: run ingest + sfm on a project, edit flight.json, and
find ../shared (beside the checkout, or one level up from a worktree under wt/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.pipeline.events import Event
from app.pipeline.project import Project
from app.pipeline.runner import Runner
from app.pipeline.stage import CancelToken
from app.pipeline.stages import default_stages

from conftest import BRIGHTON, FIXTURES, SHARED  # noqa: F401  (re-exported for the sfm tests)


def drop_gps(project: Project, names: set[str] | None = None) -> None:
    """Remove GPS from flight.json for the named images (all when None)."""
    data = json.loads(project.paths.flight_json.read_text())
    for entry in data["images"]:
        if names is None or entry["file"] in names:
            entry["gps"] = None
    project.paths.flight_json.write_text(json.dumps(data))


def run_sfm(project: Project, cancel: CancelToken | None = None,
            **settings: Any) -> tuple[bool, list[Event]]:
    """Run ingest (when needed) and sfm with these sfm settings; returns (ok, events)."""
    for key, value in settings.items():
        setattr(project.settings.sfm, key, value)
    events: list[Event] = []
    with project:
        ok = Runner(project, default_stages(), emit=events.append, cancel=cancel).run(until="sfm")
    return ok, events
