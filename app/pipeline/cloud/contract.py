"""The SageMaker training contract as Spaceport uses it: names both sides (the container and the
desktop's offload) must agree on, in one place.

SageMaker runs the image as `IMAGE train`, gives each input channel at /opt/ml/input/data/<name>
and the hyperparameters (string values) at /opt/ml/input/config/hyperparameters.json, tars
/opt/ml/model to <output>/<job>/output/model.tar.gz and /opt/ml/output/data to output.tar.gz,
syncs /opt/ml/checkpoints with S3 and shows /opt/ml/output/failure as the FailureReason.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError

SM_ROOT_ENV = "SPACEPORT_SM_ROOT"  # relocates /opt/ml (tests run the entrypoint on a temporary tree)
SM_ROOT = "/opt/ml"
CHECKPOINTS = "/opt/ml/checkpoints"  # CheckpointConfig.LocalPath
SFM_CHANNEL = "sfm"  # training's input: the SfM hand-off (sparse/, images/, geo.json)
MODEL_CHANNEL = "model"  # compression's input: the training job's model.tar.gz
MODEL_ARCHIVE = "model.tar.gz"  # /opt/ml/model: splats.ply + geo.json, or the SOG + its report
OUTPUT_ARCHIVE = "output.tar.gz"  # /opt/ml/output/data: metrics, held-out image, summary.json
TRAIN_SUMMARY = "summary.json"  # training's outputs (as the local train stage returns them)
SPLATS = "splats.ply"
GEO = "geo.json"
COMPRESS_REPORT = "compress_report.json"  # compress_ply's report, beside the files it describes
EVENT_PREFIX = "SPACEPORT_EVENT "  # one JSON pipeline event per log line after this prefix
FAILURE_CHARS = 1024  # SageMaker keeps this much of /opt/ml/output/failure


class SageMakerTree:
    """The /opt/ml paths of the SageMaker training contract."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.hyperparameters = self.root / "input" / "config" / "hyperparameters.json"
        self.data = self.root / "input" / "data"
        self.model = self.root / "model"
        self.output_data = self.root / "output" / "data"
        self.failure = self.root / "output" / "failure"
        self.checkpoints = self.root / "checkpoints"
        self.work = self.root / "output" / "work"  # scratch: not uploaded by SageMaker

    def channel(self, name: str) -> Path:
        """An input channel's folder (InputError when the job was started without it)."""
        path = self.data / name
        if not path.is_dir():
            raise InputError(f"Input channel {name!r} is missing ({path})", path=path,
                             hint=f"start the job with an InputDataConfig channel named {name!r}")
        return path
