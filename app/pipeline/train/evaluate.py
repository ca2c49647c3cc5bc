"""Held-out evaluation: PSNR/SSIM over the held-out views and a render-beside-photo PNG."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .. import atomic
from .data import View
from .loss import psnr, ssim
from .rasterize import Rasterizer


@dataclass
class Evaluation:
    """Mean metrics over the held-out views."""

    psnr: float
    ssim: float
    views: int


def view_tensors(view: View, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(viewmat, K, photo in 0..1) of a view on `device`."""
    photo = torch.from_numpy(view.image()).to(device).float() / 255.0
    return (torch.as_tensor(view.viewmat, device=device), torch.as_tensor(view.K, device=device),
            photo)


@torch.no_grad()
def render_view(params, view: View, rasterize: Rasterizer, sh_degree: int,
                device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(render, photo) of one view, both [H, W, 3] in 0..1."""
    viewmat, K, photo = view_tensors(view, device)
    colors, _, _ = rasterize(params, viewmat, K, view.width, view.height, sh_degree)
    return colors[0].clamp(0, 1), photo


def evaluate(params, views: list[View], rasterize: Rasterizer, sh_degree: int,
             device: torch.device, side_by_side: Path | None = None) -> Evaluation | None:
    """Mean PSNR/SSIM over `views`; writes render|photo of the first view when asked."""
    if not views:
        return None
    scores = []
    for i, view in enumerate(views):
        render, photo = render_view(params, view, rasterize, sh_degree, device)
        scores.append((psnr(render, photo), float(ssim(render, photo))))
        if i == 0 and side_by_side is not None:
            write_side_by_side(side_by_side, render, photo)
    arr = np.array(scores)
    return Evaluation(float(arr[:, 0].mean()), float(arr[:, 1].mean()), len(views))


def write_side_by_side(path: Path, render: torch.Tensor, photo: torch.Tensor) -> None:
    """PNG of the render (left) next to the photo (right)."""
    both = torch.cat([render, photo], dim=1).cpu().numpy()
    image = Image.fromarray((both * 255 + 0.5).clip(0, 255).astype(np.uint8))
    with atomic.atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
