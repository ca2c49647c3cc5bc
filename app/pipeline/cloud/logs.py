"""CloudWatch log tailing of a training job, and its log lines turned back into pipeline events.

The container prints each pipeline event as `SPACEPORT_EVENT {json}` (see container.py), so a
cloud job yields the very TrainMetrics/Progress/Log events a local run emits.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..events import Event, Log, event_from_dict
from .contract import EVENT_PREFIX
from .session import aws_errors, error_code

LOG_GROUP = "/aws/sagemaker/TrainingJobs"


def format_event(event: Event) -> str:
    """The log line carrying `event` (the inverse of parse_line)."""
    return EVENT_PREFIX + json.dumps(event.to_dict(), default=str, allow_nan=True)


def parse_line(line: str, stage: str) -> Event | None:
    """The event a container log line carries; other non-empty lines become debug Log events."""
    text = line.rstrip("\n")
    at = text.find(EVENT_PREFIX)
    if at >= 0:
        try:
            return event_from_dict(json.loads(text[at + len(EVENT_PREFIX):]))
        except (ValueError, KeyError, TypeError):
            pass
    if not text.strip():
        return None
    return Log(stage=stage, level="debug", text=text)


class LogTailer:
    """Reads new lines of every stream `<job>/...` using forward tokens (resumable from `tokens`)."""

    def __init__(self, logs: Any, job: str, tokens: dict[str, str] | None = None,
                 rescan_s: float = 10.0) -> None:
        self.logs, self.job = logs, job
        self.tokens: dict[str, str] = dict(tokens or {})
        self.rescan_s = rescan_s
        self.calls = 0
        self._streams: list[str] = sorted(self.tokens)
        self._scanned = 0.0

    def poll(self) -> list[str]:
        """Lines logged since the previous poll, stream by stream, oldest first."""
        if time.monotonic() - self._scanned >= self.rescan_s or not self._streams:
            self._scan()
        lines: list[str] = []
        for stream in self._streams:
            lines.extend(self._read(stream))
        return lines

    def _scan(self) -> None:
        self._scanned = time.monotonic()
        with aws_errors(f"listing the log streams of {self.job}"):
            try:
                pages = self.logs.get_paginator("describe_log_streams").paginate(
                    logGroupName=LOG_GROUP, logStreamNamePrefix=self.job + "/")
                names = [s["logStreamName"] for page in pages for s in page.get("logStreams", [])]
                self.calls += 1
            except Exception as exc:
                if error_code(exc) == "ResourceNotFoundException":  # no log group before the first job
                    return
                raise
        self._streams = sorted(set(self._streams) | set(names))

    def _read(self, stream: str) -> list[str]:
        lines: list[str] = []
        token = self.tokens.get(stream)
        with aws_errors(f"reading the log of {self.job}"):
            while True:
                kwargs: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamName": stream,
                                          "startFromHead": True}
                if token:
                    kwargs["nextToken"] = token
                resp = self.logs.get_log_events(**kwargs)
                self.calls += 1
                lines.extend(e["message"] for e in resp.get("events", []))
                new = resp.get("nextForwardToken")
                if not new or new == token:  # an unchanged token means nothing more for now
                    break
                token = new
                if not resp.get("events"):
                    break
        if token:
            self.tokens[stream] = token
        return lines
