"""Where the stylesheet and icon live: resources/ in a checkout, or inside a PyInstaller bundle."""

from __future__ import annotations

import sys
from pathlib import Path


def resource(name: str) -> Path | None:
    """Path of a file in resources/, or None when this installation does not ship it."""
    roots = [Path(__file__).resolve().parents[2] / "resources"]
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        roots.insert(0, Path(bundle) / "resources")
    return next((r / name for r in roots if (r / name).is_file()), None)
