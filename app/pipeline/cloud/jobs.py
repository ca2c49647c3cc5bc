"""SageMaker training jobs: deterministic names, the CreateTrainingJob request, describe, stop."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from ..errors import InputError
from .contract import CHECKPOINTS
from .preflight import image_fix
from .session import aws_errors, error_code
from .settings import CloudSettings

NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
METRIC_DEFINITIONS = [  # read by SageMaker from the text form the entrypoint prints per report
    {"Name": "train:loss", "Regex": r"step=\d+ loss=([0-9.eE+-]+)"},
    {"Name": "train:step", "Regex": r"step=(\d+) loss="},
    {"Name": "train:psnr", "Regex": r"psnr=([0-9.eE+-]+)"},
    {"Name": "train:gaussians", "Regex": r"gaussians=(\d+)"},
]
SUCCESS = "Completed"


def job_name(kind: str, key: str, attempt: int) -> str:
    """`spaceport-<kind>-<hash of key>-a<attempt>`: the same inputs and attempt give the same name."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"spaceport-{kind}-{digest}-a{attempt}"


def training_request(settings: CloudSettings, *, name: str, kind: str, channels: dict[str, str],
                     output_s3: str, checkpoint_s3: str, hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """The CreateTrainingJob arguments of a train or compress job (channels: name -> S3 prefix)."""
    image = settings.train_image if kind == "train" else settings.compress_image
    instance = settings.train_instance_type if kind == "train" else settings.compress_instance_type
    if not image:
        raise InputError(f"No container image set for the {kind} job",
                         hint=image_fix(kind), action="configure_cloud")
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": int(settings.max_runtime_s)}
    if settings.spot:
        stopping["MaxWaitTimeInSeconds"] = max(int(settings.max_wait_s), int(settings.max_runtime_s) + 1)
    output: dict[str, str] = {"S3OutputPath": output_s3}
    if settings.kms_key_id:
        output["KmsKeyId"] = settings.kms_key_id
    return {
        "TrainingJobName": name,
        "RoleArn": settings.role_arn,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File",
                                   "MetricDefinitions": METRIC_DEFINITIONS},
        "InputDataConfig": [
            {"ChannelName": channel,
             "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri,
                                             "S3DataDistributionType": "FullyReplicated"}}}
            for channel, uri in channels.items()],
        "OutputDataConfig": output,
        "ResourceConfig": {"InstanceType": instance, "InstanceCount": 1,
                           "VolumeSizeInGB": int(settings.volume_gb)},
        "StoppingCondition": stopping,
        "HyperParameters": {k: v if isinstance(v, str) else json.dumps(v)
                            for k, v in hyperparameters.items()},
        "EnableManagedSpotTraining": bool(settings.spot),
        "CheckpointConfig": {"S3Uri": checkpoint_s3, "LocalPath": CHECKPOINTS},
        "Tags": [{"Key": "spaceport:kind", "Value": kind}],
    }


def describe(sm: Any, name: str) -> dict[str, Any] | None:
    """DescribeTrainingJob, or None when no job has that name."""
    with aws_errors(f"looking up the SageMaker job {name}"):
        try:
            return sm.describe_training_job(TrainingJobName=name)
        except Exception as exc:
            text = str(exc)
            if error_code(exc) in ("ValidationException", "ResourceNotFound") and (
                    "not found" in text.lower() or "could not find" in text.lower()):
                return None
            raise


def create(sm: Any, request: dict[str, Any]) -> dict[str, Any]:
    """Create the job unless one of that name exists; returns its description either way."""
    name = request["TrainingJobName"]
    existing = describe(sm, name)
    if existing is not None:
        return existing
    with aws_errors(f"starting the SageMaker job {name}"):
        try:
            sm.create_training_job(**request)
        except Exception as exc:
            if error_code(exc) != "ResourceInUse":
                raise
    found = describe(sm, name)
    return found or {"TrainingJobName": name, "TrainingJobStatus": "InProgress"}


def stop(sm: Any, name: str) -> None:
    """Ask SageMaker to stop a job (it ends as Stopped; a job already ended is left alone)."""
    with aws_errors(f"stopping the SageMaker job {name}"):
        try:
            sm.stop_training_job(TrainingJobName=name)
        except Exception as exc:
            if error_code(exc) != "ValidationException":  # already Completed/Failed/Stopped
                raise


def status_message(desc: dict[str, Any]) -> str:
    """The latest secondary-status message, or the failure reason."""
    if desc.get("FailureReason"):
        return str(desc["FailureReason"])
    transitions = desc.get("SecondaryStatusTransitions") or []
    return str(transitions[-1].get("StatusMessage", "")) if transitions else ""
