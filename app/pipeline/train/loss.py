"""Photometric loss and image metrics (images are [H, W, 3] in 0..1)."""

from __future__ import annotations

import torch
from pytorch_msssim import ssim as _ssim
from torch import Tensor


def ssim(render: Tensor, target: Tensor) -> Tensor:
    """Structural similarity of two [H, W, 3] images (11x11 Gaussian window)."""
    a, b = render.permute(2, 0, 1)[None], target.permute(2, 0, 1)[None]
    return _ssim(a, b, data_range=1.0, size_average=True)


def psnr(render: Tensor, target: Tensor) -> float:
    """Peak signal-to-noise ratio in dB for images in 0..1."""
    mse = torch.mean((render.clamp(0, 1) - target) ** 2)
    return float(-10.0 * torch.log10(mse.clamp_min(1e-10)))


def photometric_loss(render: Tensor, target: Tensor, ssim_lambda: float) -> Tensor:
    """(1 - lambda) * L1 + lambda * (1 - SSIM), the 3DGS training loss."""
    l1 = torch.abs(render - target).mean()
    if ssim_lambda <= 0:
        return l1
    return (1.0 - ssim_lambda) * l1 + ssim_lambda * (1.0 - ssim(render, target))


def mcmc_regularizer(params: dict[str, Tensor], weight: float = 0.01) -> Tensor:
    """Opacity and scale L1 penalties that MCMC relies on (gsplat simple_trainer's defaults)."""
    return weight * (torch.sigmoid(params["opacities"]).mean() + torch.exp(params["scales"]).mean())
