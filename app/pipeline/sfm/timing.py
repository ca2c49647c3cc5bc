"""Seconds per SfM phase, for sfm/stats.json's `timings_s`."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator


class PhaseTimes(dict[str, float]):
    """{phase: seconds}; `with times.phase("mapping"):` adds the block's wall time."""

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block and add it to `name` (a phase timed twice sums)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self[name] = self.get(name, 0.0) + time.perf_counter() - start
