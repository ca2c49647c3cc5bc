"""Shared fixtures: the synthetic sample flight (generated once per session) and paths."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
BRIGHTON = SHARED / "data" / "brighton_beach" / "images"


def needs_brighton() -> pytest.MarkDecorator:
    """Skip unless the real DJI flight in ../shared/data is present."""
    return pytest.mark.skipif(not BRIGHTON.is_dir(), reason="../shared/data/brighton_beach absent")
