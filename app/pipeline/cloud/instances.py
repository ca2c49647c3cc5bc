"""The SageMaker instance types Spaceport offers: the one list that is offered, priced and allowed.

packaging/sagemaker/iam-desktop-user.json allows CreateTrainingJob on exactly these types
(tests/test_cloud_instances.py keeps the two in step), the cost estimate prices them, and a
setting naming any other type is refused before anything is uploaded.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError

PRICE_DATE = "2026-11-01"
PRICE_SOURCE = "bundled table (third-party listings of us-east-1 on-demand training prices)"
PRICE_REGION = "us-east-1"


@dataclass(frozen=True)
class InstanceType:
    """One SageMaker training instance type and what Spaceport knows of it."""

    name: str
    gpu: str
    cuda_arch: str  # TORCH_CUDA_ARCH_LIST the image is built for
    vcpus: int
    gpu_memory_gib: float
    memory_bandwidth_gb_s: float  # the GPU's, from the vendor's data sheet
    usd_per_hour: float  # on-demand training in PRICE_REGION on PRICE_DATE (PRICE_SOURCE)


INSTANCE_TYPES: dict[str, InstanceType] = {t.name: t for t in (
    InstanceType("ml.g5.xlarge", "NVIDIA A10G", "8.6", 4, 24.0, 600.0, 1.408),
    InstanceType("ml.g4dn.xlarge", "NVIDIA T4", "7.5", 4, 16.0, 320.0, 0.736),
)}
TRAIN_DEFAULT, COMPRESS_DEFAULT = "ml.g5.xlarge", "ml.g4dn.xlarge"


def offered() -> str:
    """'ml.g5.xlarge or ml.g4dn.xlarge': the types to name in a hint."""
    names = list(INSTANCE_TYPES)
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]


def instance_type(name: str, setting: str) -> InstanceType:
    """The offered type called `name`, or InputError naming `setting` and the types allowed."""
    found = INSTANCE_TYPES.get(name)
    if found is None:
        raise InputError(f"{setting} is {name!r}, which Spaceport does not offer",
                         hint=f"set {setting} to {offered()} (the types the shipped IAM policy allows)",
                         action="configure_cloud")
    return found
