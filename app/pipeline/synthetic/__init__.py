"""Synthetic sample flight: a rendered drone survey with real EXIF/XMP and ground truth."""

from __future__ import annotations

from typing import Any

__all__ = ["generate_flight", "GpsErrors", "PRESETS"]


def __getattr__(name: str) -> Any:
    """Import on first use: the renderer's dependencies cost the CLI most of a second."""
    if name == "generate_flight":
        from .flight import generate_flight

        return generate_flight
    if name in ("GpsErrors", "PRESETS"):
        from . import gps_errors

        return getattr(gps_errors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
