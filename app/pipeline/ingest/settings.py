"""Settings of the ingest stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class IngestSettings:
    """How strict ingest is about the flight folder."""

    min_images: int = 3  # fewer usable images than this fails the stage
    require_gps: bool = False  # skip images without a valid GPS position (else only warn)
    # majority: keep the most common camera (make, model, resolution) and skip the others;
    # keep: hand every camera's images on to SfM together; fail: stop and name the cameras
    mixed_cameras: Literal["majority", "keep", "fail"] = "majority"
    # images the operator left out (names relative to the flight folder): listed as unusable
    exclude: list[str] = field(default_factory=list)
