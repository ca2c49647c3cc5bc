"""Folder dialogs of the File menu, and where a new project folder goes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget


def ask_new_project(parent: QWidget) -> tuple[Path, Path] | None:
    """Ask for a flight folder, then where to keep its project: (flight, project) or None."""
    flight = QFileDialog.getExistingDirectory(parent, "Flight folder (drone images)")
    if not flight:
        return None
    where = QFileDialog.getExistingDirectory(parent, "Where to keep the project",
                                             str(Path(flight).parent))
    return (Path(flight), project_folder_for(Path(flight), Path(where))) if where else None


def ask_project(parent: QWidget) -> Path | None:
    """Ask for an existing project folder."""
    folder = QFileDialog.getExistingDirectory(parent, "Open a Spaceport project")
    return Path(folder) if folder else None


def project_folder_for(flight: Path, where: Path) -> Path:
    """`where` itself if it is a project or empty, else a `<flight>-project` folder inside it."""
    if (where / "project.json").exists() or not any(where.iterdir()):
        return where
    return where / f"{flight.name}-project"
