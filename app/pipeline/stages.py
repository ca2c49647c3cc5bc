"""The registered stages, in pipeline order (each issue adds its stage here), and the functions
the stages and project-level export are handed (so they need not import the cloud)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .cancel import CancelToken
from .compress.stage import CompressStage
from .events import Event
from .ingest.stage import IngestStage
from .project import Project
from .sfm.stage import SfmStage
from .stage import Stage
from .train.stage import TrainStage


def fetch_cloud_splats(project: Project, emit: Callable[[Event], None],
                       cancel: CancelToken | None = None) -> Path:
    """train/splats.ply of a cloud training, downloaded when it stayed in S3."""
    from .cloud.control import fetch_splats  # boto3: only when a cloud-trained PLY is needed

    return fetch_splats(project, emit, cancel)


def default_stages() -> list[Stage]:
    """Fresh instances of every stage the pipeline runs, upstream first."""
    return [IngestStage(), SfmStage(), TrainStage(), CompressStage(fetch_splats=fetch_cloud_splats)]
