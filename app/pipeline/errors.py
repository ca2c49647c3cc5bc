"""Errors an operator can act on: what went wrong, which file, and what to do about it."""

from __future__ import annotations

from pathlib import Path


class SpaceportError(Exception):
    """A failure with an operator-facing message and a hint saying how to fix it."""

    def __init__(self, message: str, hint: str = "", path: str | Path | None = None) -> None:
        self.message = message
        self.hint = hint
        self.path = str(path) if path is not None else None
        super().__init__(self.render())

    def render(self) -> str:
        """One readable block: the message, the file concerned, and the fix."""
        text = self.message
        if self.path and self.path not in text:
            text += f"\n  file: {self.path}"
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text


class InputError(SpaceportError):
    """The user's input (flight folder, model, settings) cannot be used as it is."""


class ProjectError(SpaceportError):
    """The project folder is locked, corrupt, or not writable."""


class StageError(SpaceportError):
    """A stage ran but its result failed validation."""


class Cancelled(Exception):
    """Raised at a cancel checkpoint when the user asked to stop; the stage stays resumable."""
