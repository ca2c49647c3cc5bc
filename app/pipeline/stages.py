"""The registered stages, in pipeline order (each issue adds its stage here)."""

from __future__ import annotations

from .compress.stage import CompressStage
from .ingest.stage import IngestStage
from .sfm.stage import SfmStage
from .stage import Stage
from .train.stage import TrainStage


def default_stages() -> list[Stage]:
    """Fresh instances of every stage the pipeline runs, upstream first."""
    return [IngestStage(), SfmStage(), TrainStage(), CompressStage()]
