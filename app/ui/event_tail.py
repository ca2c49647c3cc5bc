"""Follow a growing logs/events.jsonl: the window replays it on open and, while another
process (the CLI) holds the project, keeps reading what that run appends."""

from __future__ import annotations

import json
from pathlib import Path

from app.pipeline.events import Event, event_from_dict


class EventTail:
    """Incremental reader of a JSONL event log: complete new lines only, torn lines skipped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def read_new(self) -> list[Event]:
        """Events appended since the last call (all of them on the first call)."""
        try:
            with open(self.path, "rb") as f:
                if f.seek(0, 2) < self.offset:  # the log was replaced: start again
                    self.offset = 0
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits
        self.offset += len(complete)
        events = []
        for line in complete.decode("utf-8", errors="replace").splitlines():
            try:
                events.append(event_from_dict(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                continue  # a torn line left by a crash, as read_events does
        return events
