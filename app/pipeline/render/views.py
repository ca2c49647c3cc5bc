"""A camera view rendered with a set of splats: the device, the tensors, the call to the rasterizer."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import torch

from ..errors import InputError
from ..formats.splats import Splats
from .rasterize import Rasterizer


class CameraView(Protocol):
    """What rendering needs of a view (train/data.py's View is one)."""

    width: int
    height: int
    viewmat: np.ndarray  # world-to-camera 4x4
    K: np.ndarray  # 3x3 intrinsics

    def image(self) -> np.ndarray:
        """The photo, uint8 [H, W, 3]."""


def resolve_device(name: str) -> torch.device:
    """auto -> the first CUDA device when torch sees one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as exc:
        raise InputError(f"train.device {name!r} is not a torch device",
                         hint="use auto, cpu, cuda or cuda:N") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"train.device is {name} but torch sees no CUDA GPU",
                         hint="set train.device to auto, or install a CUDA build of torch")
    return dev


def view_tensors(view: CameraView, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(viewmat, K, photo in 0..1) of a view on `device`."""
    photo = torch.from_numpy(view.image()).to(device).float() / 255.0
    return (torch.as_tensor(view.viewmat, device=device), torch.as_tensor(view.K, device=device),
            photo)


@torch.no_grad()
def render_view(params: dict[str, torch.Tensor], view: CameraView, rasterize: Rasterizer,
                sh_degree: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(render, photo) of one view, both [H, W, 3] in 0..1."""
    viewmat, K, photo = view_tensors(view, device)
    colors, _, _ = rasterize(params, viewmat, K, view.width, view.height, sh_degree)
    return colors[0].clamp(0, 1), photo


def splat_params(splats: Splats, device: torch.device) -> dict[str, Any]:
    """The rasterizer's parameter dict (train/model.py's layout) of a splat set."""
    def t(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32, device=device)

    return {"means": t(splats.means), "scales": t(splats.scales), "quats": t(splats.quats),
            "opacities": t(splats.opacities), "sh0": t(splats.sh0[:, None, :]),
            "shN": t(splats.shN)}
