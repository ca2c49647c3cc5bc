"""Settings of the cloud offload (never credentials: those stay in the AWS profile)."""

from __future__ import annotations

from dataclasses import dataclass

from ..fields import cadence
from .instances import COMPRESS_DEFAULT, TRAIN_DEFAULT


@dataclass
class CloudSettings:
    """Where and how SageMaker jobs run (cadence fields: how we watch and move data, not what a job makes)."""

    profile: str | None = cadence(None)  # AWS profile (SSO and credential_process work); None: default chain
    region: str = "us-east-1"
    bucket: str = ""  # S3 bucket for hand-offs, checkpoints and outputs
    prefix: str = "spaceport"  # key prefix inside the bucket (the IAM policy limits it)
    role_arn: str = ""  # SageMaker execution role the jobs run as
    train_image: str = ""  # ECR URI of the training image (packaging/sagemaker/Dockerfile, built for the training GPU)
    compress_image: str = ""  # ECR URI of the compression image (the same Dockerfile, built for the compression GPU)
    train_instance_type: str = TRAIN_DEFAULT  # one of cloud/instances.py's INSTANCE_TYPES
    compress_instance_type: str = COMPRESS_DEFAULT  # one of cloud/instances.py's INSTANCE_TYPES
    compress_where: str = "auto"  # auto | cloud | local: chain compression after cloud training
    fetch_ply: bool = cadence(False)  # also download the uncompressed splats when compression ran in the cloud
    spot: bool = False  # managed spot training (cheaper, may be interrupted; resumes from checkpoints)
    max_runtime_s: int = 4 * 3600  # StoppingCondition.MaxRuntimeInSeconds
    max_wait_s: int = 8 * 3600  # MaxWaitTimeInSeconds (spot only; must exceed max_runtime_s)
    volume_gb: int = 50  # ResourceConfig.VolumeSizeInGB
    kms_key_id: str | None = None  # SSE-KMS key for uploads and outputs; None: SSE-S3 (AES256)
    poll_s: float = cadence(10.0)  # seconds between status calls per job (AWS cost: keep >= 10)
    tail_s: float = cadence(1.0)  # seconds between CloudWatch log reads while a job runs
    transfer_concurrency: int = cadence(8)  # parallel S3 requests
    part_size_mb: int = cadence(16)  # multipart chunk size (files larger than this go multipart)
