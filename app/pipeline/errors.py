"""Errors an operator can act on: what went wrong, which file, and what to do about it.

Besides the human hint, an error carries an `action`: a machine-readable next step that each
front end words for itself (the CLI "run the same command again", the window "press Run"):

  resume            run again: the stage resumes from where it stopped
  rerun             run again: the failure may not repeat (network, throttling, a busy service)
  fix_input         fix the file, folder or value the message names, then run again
  fix_project       repair or replace the project folder named in the message
  create_project    the folder is not a project yet: open a flight folder into it
  wait              another process holds the project: wait for it or close it
  configure_cloud   set the cloud settings the message names (bucket, role, images, profile)
  approve_cost      the cloud cost estimate must be approved before anything is uploaded
  free_disk         free disk space where the project lives (or choose another folder)
  report_bug        an unexpected error: the traceback is in logs/events.jsonl
  relax_setting:S   the result failed a check that the setting S (section.key) controls
"""

from __future__ import annotations

from pathlib import Path


class SpaceportError(Exception):
    """A failure with an operator-facing message, a hint saying how to fix it and an action."""

    default_action = ""

    def __init__(self, message: str, hint: str = "", path: str | Path | None = None,
                 action: str | None = None) -> None:
        self.message = message
        self.hint = hint
        self.path = str(path) if path is not None else None
        self.action = self.default_action if action is None else action
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

    default_action = "fix_input"


class ProjectError(SpaceportError):
    """The project folder is locked, corrupt, or not writable."""

    default_action = "fix_project"


class StageError(SpaceportError):
    """A stage ran but its result failed validation."""


class Cancelled(Exception):
    """Raised at a cancel checkpoint when the user asked to stop; the stage stays resumable."""

    hint = "the stage resumes from where it stopped"
    action = "resume"

    def __init__(self, message: str = "", hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class Detached(Cancelled):
    """Cancelled while following a cloud job: tracking stopped, the job runs on (and is billed)."""

    def __init__(self, job_name: str) -> None:
        self.job_name = job_name
        super().__init__(f"stopped following the SageMaker job {job_name}, which runs on",
                         hint=f"the SageMaker job {job_name} runs on and is billed until it ends; "
                              "resuming follows it again, and only a confirmed cloud cancel stops it")
