"""Held-out evaluation: PSNR/SSIM over the held-out views and a render-beside-photo PNG."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .. import atomic
from ..render.rasterize import Rasterizer
from ..render.views import render_view
from .data import View
from .loss import psnr, ssim


@dataclass
class Evaluation:
    """Mean metrics over the held-out views."""

    psnr: float
    ssim: float
    views: int


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
