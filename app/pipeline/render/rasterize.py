"""Render Gaussians into one camera: gsplat's CUDA rasterizer on a GPU, a torch compositor on CPU.

Both return (colors [1,H,W,3], alphas [1,H,W,1], info) where info carries what gsplat's
densification strategies read (means2d with its gradient, radii, width, height, n_cameras).
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from gsplat.cuda._torch_impl import (_fully_fused_projection, _quat_scale_to_covar_preci,
                                     _spherical_harmonics)

Rasterizer = Callable[..., tuple[Tensor, Tensor, dict[str, Any]]]
ALPHA_MIN = 1.0 / 255.0  # gsplat 1.5.3's thresholds (RasterizeToPixels3DGSFwd.cu)
ALPHA_MAX = 0.999
T_MIN = 1e-4  # a pixel is done before a splat would leave it this little transmittance


def rasterizer_for(device: torch.device) -> Rasterizer:
    """gsplat.rasterization on CUDA devices, the CPU compositor otherwise."""
    return rasterize_cuda if device.type == "cuda" else rasterize_cpu


def rasterize_cuda(params: dict[str, Tensor], viewmat: Tensor, K: Tensor, width: int,
                   height: int, sh_degree: int) -> tuple[Tensor, Tensor, dict[str, Any]]:
    """gsplat's fused CUDA rasterizer (compiles on first use)."""
    from gsplat import rasterization

    colors, alphas, info = rasterization(
        means=params["means"], quats=params["quats"], scales=torch.exp(params["scales"]),
        opacities=torch.sigmoid(params["opacities"]),
        colors=torch.cat([params["sh0"], params["shN"]], 1), viewmats=viewmat[None],
        Ks=K[None], width=width, height=height, sh_degree=sh_degree, packed=False)
    return colors, alphas, info


def rasterize_cpu(params: dict[str, Tensor], viewmat: Tensor, K: Tensor, width: int,
                  height: int, sh_degree: int) -> tuple[Tensor, Tensor, dict[str, Any]]:
    """Same maths as gsplat on CPU: its torch projection and SH, then per-pixel compositing."""
    # Hand-written compositing: gsplat's own torch compositor needs nerfacc and CUDA intersection.
    means, quats = params["means"], params["quats"]
    covars, _ = _quat_scale_to_covar_preci(quats / quats.norm(dim=-1, keepdim=True),
                                           torch.exp(params["scales"]), compute_preci=False)
    radii, means2d, depths, conics, _ = _fully_fused_projection(
        means, covars, viewmat[None], K[None], width, height)
    campos = torch.linalg.inv(viewmat)[:3, 3]
    coeffs = torch.cat([params["sh0"], params["shN"]], 1)
    rgb = _spherical_harmonics(sh_degree, means - campos, coeffs)
    rgb = torch.clamp_min(rgb + 0.5, 0.0)
    opac = torch.sigmoid(params["opacities"])
    colors, alphas = composite(means2d[0], conics[0], opac, rgb, depths[0], radii[0], width, height)
    info = {"means2d": means2d, "radii": radii, "depths": depths, "conics": conics,
            "width": width, "height": height, "n_cameras": 1, "gaussian_ids": None}
    return colors[None], alphas[None], info


def composite(means2d: Tensor, conics: Tensor, opacities: Tensor, colors: Tensor, depths: Tensor,
              radii: Tensor, width: int, height: int) -> tuple[Tensor, Tensor]:
    """Front-to-back alpha compositing of projected Gaussians over the pixels in their radius."""
    gid, pix = _pairs(_opacity_radii(radii, opacities.detach()), means2d.detach(), width, height)
    with torch.no_grad():  # drop pairs below ALPHA_MIN before sorting (most of a box's corners)
        sigma, alpha = _alpha(means2d, conics, opacities, gid, pix, width)
        keep = (sigma >= 0) & (alpha >= ALPHA_MIN)
        gid, pix = gid[keep], pix[keep]
        order = torch.argsort(torch.argsort(depths))  # depth rank of each Gaussian
        sort = torch.argsort(pix * means2d.shape[0] + order[gid])
        gid, pix = gid[sort], pix[sort]
    _, alpha = _alpha(means2d, conics, opacities, gid, pix, width)
    log_t = torch.log1p(-alpha).double()
    excl = torch.cumsum(log_t, 0) - log_t  # transmittance before each pair, per pixel segment
    first = torch.ones_like(pix, dtype=torch.bool)
    first[1:] = pix[1:] != pix[:-1]
    seg = torch.cumsum(first.long(), 0) - 1
    trans = torch.exp(excl - excl[first][seg]).float()
    weight = alpha * trans * (trans * (1 - alpha) > T_MIN)  # exclusive, as gsplat's kernel
    n_pix = width * height
    out = torch.zeros(n_pix, colors.shape[-1], dtype=colors.dtype).index_add(
        0, pix, weight[:, None] * colors[gid])
    acc = torch.zeros(n_pix, dtype=alpha.dtype).index_add(0, pix, weight)
    return out.view(height, width, -1), acc.view(height, width, 1)


def _alpha(means2d: Tensor, conics: Tensor, opacities: Tensor, gid: Tensor, pix: Tensor,
           width: int) -> tuple[Tensor, Tensor]:
    """(Mahalanobis term, alpha) of each (Gaussian, pixel) pair, as the reference rasterizer."""
    xy = torch.stack([pix % width, pix // width], -1).to(means2d.dtype) + 0.5
    d = xy - means2d[gid]
    c = conics[gid]
    sigma = 0.5 * (c[:, 0] * d[:, 0] ** 2 + c[:, 2] * d[:, 1] ** 2) + c[:, 1] * d[:, 0] * d[:, 1]
    return sigma, torch.clamp_max(opacities[gid] * torch.exp(-sigma), ALPHA_MAX)


def _opacity_radii(radii: Tensor, opacities: Tensor) -> Tensor:
    """Shrink the 3.33-sigma radii to where o * exp(-d^2/2) can still reach ALPHA_MIN."""
    reach = torch.sqrt(2.0 * torch.log(torch.clamp_min(opacities / ALPHA_MIN, 1.0)))
    return torch.ceil(radii * torch.clamp_max(reach / 3.33, 1.0)[:, None])


def _pairs(radii: Tensor, means2d: Tensor, width: int, height: int) -> tuple[Tensor, Tensor]:
    """(Gaussian id, pixel id) for every pixel inside each Gaussian's projected 3-sigma box."""
    r = radii.long()
    visible = (r > 0).all(-1)
    ids = torch.nonzero(visible).squeeze(1)
    cx, cy = means2d[ids, 0], means2d[ids, 1]
    x0 = torch.clamp((cx - r[ids, 0]).floor().long(), 0, width)
    x1 = torch.clamp((cx + r[ids, 0]).ceil().long(), 0, width)
    y0 = torch.clamp((cy - r[ids, 1]).floor().long(), 0, height)
    y1 = torch.clamp((cy + r[ids, 1]).ceil().long(), 0, height)
    w, h = x1 - x0, y1 - y0
    count = w * h
    gid = torch.repeat_interleave(ids, count)
    start = torch.repeat_interleave(torch.cumsum(count, 0) - count, count)
    local = torch.arange(len(gid)) - start
    k = torch.repeat_interleave(torch.arange(len(ids)), count)
    px = x0[k] + local % w[k]
    py = y0[k] + local // w[k]
    return gid, py * width + px
