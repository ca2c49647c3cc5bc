"""How a settings field declares whether it changes a stage's result.

A plain field affects the result: the stage's fingerprint hashes it, so changing it makes the
stage and everything downstream stale. Two kinds are declared otherwise, in the field itself:
`cadence(...)` changes how a run reports, checkpoints or polls, never what it makes;
`resolved(...)` counts only through what it resolves to (e.g. where training runs resolves to
a CPU preview or a full run; the stage adds that resolution to its fingerprint).
"""

from __future__ import annotations

import dataclasses
from typing import Any

AFFECTS_RESULT = "affects_result"
CADENCE = {AFFECTS_RESULT: False, "kind": "cadence"}
RESOLVED = {AFFECTS_RESULT: False, "kind": "resolved"}


def cadence(default: Any) -> Any:
    """A field that changes reporting, checkpoints or polling, not the result."""
    return dataclasses.field(default=default, metadata=CADENCE)


def resolved(default: Any) -> Any:
    """A field that affects the result only through what the stage resolves it to."""
    return dataclasses.field(default=default, metadata=RESOLVED)


def affects_result(f: dataclasses.Field) -> bool:
    """True unless the field was declared with cadence() or resolved()."""
    return bool(f.metadata.get(AFFECTS_RESULT, True))


def result_values(section: Any) -> dict[str, Any]:
    """The values of a settings section's fields that affect its stage's result."""
    return {f.name: getattr(section, f.name) for f in dataclasses.fields(section) if affects_result(f)}
