"""The recently opened projects, newest first, kept in the user's configuration folder."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QStandardPaths

from app.pipeline import atomic
from app.pipeline.errors import ProjectError

LIMIT = 10


def config_dir() -> Path:
    """Spaceport's configuration folder (Qt's test mode moves it aside for tests)."""
    where = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    return Path(where) / "spaceport"


class RecentProjects:
    """Project folders in the order they were last opened; missing ones are dropped when listed."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "recent.json"

    def list(self) -> list[Path]:
        """Recent project folders that still hold a project, newest first."""
        try:
            items = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        folders = [Path(p) for p in items if isinstance(p, str)]
        return [p for p in folders if (p / "project.json").is_file()][:LIMIT]

    def add(self, root: Path) -> None:
        """Put `root` first."""
        items = [root] + [p for p in self.list() if p != root]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic.write_json(self.path, [str(p) for p in items[:LIMIT]])
        except (OSError, ProjectError):
            pass  # a read-only home: the list is a convenience, never a reason to fail
