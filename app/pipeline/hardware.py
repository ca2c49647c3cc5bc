"""GPU detection and the local-or-cloud training policy.

gsplat needs a CUDA GPU of compute capability >= 7.0. A10G-class cards or better (compute
capability >= 8.0 with >= 20 GiB) train the standard preset locally; anything else goes to the
cloud when it is configured, and otherwise trains locally with a warning (a weaker GPU, or a
small preview on the CPU). The user can force either side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import InputError

LOCAL_MIN_CC = (8, 0)
LOCAL_MIN_GIB = 20.0
GSPLAT_MIN_CC = (7, 0)


@dataclass(frozen=True)
class GpuInfo:
    """One CUDA device as torch reports it."""

    index: int
    name: str
    compute_capability: tuple[int, int]
    memory_gib: float

    def describe(self) -> str:
        """e.g. 'NVIDIA A10G (compute 8.6, 22.0 GiB)'."""
        major, minor = self.compute_capability
        return f"{self.name} (compute {major}.{minor}, {self.memory_gib:.1f} GiB)"

    @property
    def class_ok(self) -> bool:
        """A10G class or better: trains the standard preset locally."""
        return self.compute_capability >= LOCAL_MIN_CC and self.memory_gib >= LOCAL_MIN_GIB

    @property
    def gsplat_ok(self) -> bool:
        """gsplat's CUDA kernels build and run on it at all."""
        return self.compute_capability >= GSPLAT_MIN_CC


@dataclass(frozen=True)
class Decision:
    """Where training runs, on which device, and why (shown to the operator)."""

    where: str  # local | cloud
    reason: str
    device: str = "cpu"  # torch device for local training
    warning: bool = False  # the operator should read the reason (slow or constrained run)


def detect_gpus(cuda: Any = None) -> list[GpuInfo]:
    """CUDA devices visible to torch (empty without a CUDA build or driver).

    `cuda` is torch.cuda (imported here, on first use); tests hand in other device lists.
    """
    if cuda is None:
        import torch

        cuda = torch.cuda
    if not cuda.is_available():
        return []
    found = []
    for i in range(cuda.device_count()):
        props = cuda.get_device_properties(i)
        found.append(GpuInfo(i, props.name, (props.major, props.minor),
                             props.total_memory / 2**30))
    return found


def cloud_configured(cloud: Any) -> bool:
    """True when the cloud settings name what a SageMaker training job needs."""
    return all(getattr(cloud, name, "") for name in ("bucket", "role_arn", "train_image"))


def decide(where: str, devices: list[GpuInfo], cloud_configured: bool) -> Decision:
    """Apply the policy to a `train.where` choice (auto|local|cloud) and the visible GPUs."""
    if where not in ("auto", "local", "cloud"):
        raise InputError(f"train.where must be auto, local or cloud, not {where!r}",
                         hint="set train.where to auto, local or cloud")
    best = max(devices, key=lambda d: (d.class_ok, d.gsplat_ok, d.memory_gib), default=None)
    if where == "cloud":
        if not cloud_configured:
            raise InputError("Training was set to run in the cloud, but no cloud is configured",
                             hint="set cloud.bucket, cloud.role_arn and cloud.train_image in the settings, "
                                  "or train locally (train.where = local)", action="configure_cloud")
        return Decision("cloud", "cloud training chosen by the user")
    if best is not None and best.class_ok:
        return Decision("local", f"{best.describe()} is A10G class or better",
                        device=f"cuda:{best.index}")
    gpu_note = (f"{best.describe()} is below the A10G class (compute >= 8.0 with >= 20 GiB)"
                if best is not None else "no CUDA GPU found")
    if where == "auto" and cloud_configured:
        return Decision("cloud", f"{gpu_note}; training in the cloud")
    forced = "local training chosen by the user" if where == "local" else "no cloud configured"
    if best is not None and best.gsplat_ok:
        return Decision("local", f"{gpu_note}; {forced}: training on it, large scenes may run out "
                        "of GPU memory (lower train.max_gaussians)", device=f"cuda:{best.index}",
                        warning=True)
    return Decision("local", f"{gpu_note}; {forced}: training a small preview on the CPU "
                    "(slow, reduced resolution); configure the cloud for full quality",
                    warning=True)
