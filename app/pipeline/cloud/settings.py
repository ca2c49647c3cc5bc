"""Settings of the cloud offload (never credentials: those stay in the AWS profile)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CloudSettings:
    """Where and how SageMaker jobs run."""

    profile: str | None = None
    region: str = "us-east-1"
    bucket: str = ""
    prefix: str = "spaceport"
