"""Settings of the ingest stage."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class IngestSettings:
    """How strict ingest is about the flight folder."""

    min_images: int = 3  # fewer usable images than this fails the stage
    require_gps: bool = False  # fail rather than warn when images lack GPS
