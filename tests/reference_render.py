"""An independent reference for the rasterizers: a few splats evaluated pixel by pixel from the
3D Gaussian Splatting equations (Kerbl et al. 2023, as gsplat 1.5.3's CUDA kernels apply them).

Written from the equations, not from app/pipeline/render: each splat's camera-space mean,
its covariance R S S^T R^T carried to the image by the projection's Jacobian with the 0.3 px^2
low-pass term, colour from spherical harmonics (+0.5, clamped at 0), and per pixel centre
front-to-back compositing with alpha = min(0.999, o exp(-d^T Sigma^-1 d / 2)), splats under
1/255 skipped, and the pixel done before a splat would leave less than 1e-4 transmittance.
float64 torch, so its gradients can be compared too. The Jacobian is not clamped at the image
border (gsplat clamps at 1.3x the field of view): keep test splats in view.
"""

from __future__ import annotations

import torch

SH_C0 = 0.28209479177387814
SH_C1 = 0.4886025119029199
LOW_PASS = 0.3
ALPHA_MAX = 0.999
ALPHA_MIN = 1.0 / 255.0
T_DONE = 1e-4
NEAR = 0.01


def rotation(q: torch.Tensor) -> torch.Tensor:
    """Rotation matrices [N,3,3] of quaternions (w, x, y, z), normalised first."""
    w, x, y, z = (q / q.norm(dim=-1, keepdim=True)).unbind(-1)
    return torch.stack([
        torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        torch.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        torch.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1)], -2)


def colours(params: dict[str, torch.Tensor], campos: torch.Tensor, sh_degree: int) -> torch.Tensor:
    """RGB of each splat seen from `campos` (SH bands 0 and 1)."""
    c = SH_C0 * params["sh0"][:, 0]
    if sh_degree >= 1:
        d = params["means"] - campos
        x, y, z = (d / d.norm(dim=-1, keepdim=True)).unbind(-1)
        sh = params["shN"]
        c = c + SH_C1 * (-y[:, None] * sh[:, 0] + z[:, None] * sh[:, 1] - x[:, None] * sh[:, 2])
    return torch.clamp_min(c + 0.5, 0.0)


def reference_render(params: dict[str, torch.Tensor], viewmat: torch.Tensor, K: torch.Tensor,
                     width: int, height: int, sh_degree: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(image [H,W,3], alpha [H,W]) of the splats in `params` (train/model.py's layout)."""
    p = {k: v.double() for k, v in params.items()}
    viewmat, K = viewmat.double(), K.double()
    R, t = viewmat[:3, :3], viewmat[:3, 3]
    cam = p["means"] @ R.T + t
    scale = torch.diag_embed(torch.exp(p["scales"]))
    M = rotation(p["quats"]) @ scale
    cov_cam = R @ (M @ M.transpose(1, 2)) @ R.T
    x, y, z = cam.unbind(-1)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    zero = torch.zeros_like(z)
    J = torch.stack([torch.stack([fx / z, zero, -fx * x / z ** 2], -1),
                     torch.stack([zero, fy / z, -fy * y / z ** 2], -1)], -2)
    cov2d = J @ cov_cam @ J.transpose(1, 2) + LOW_PASS * torch.eye(2, dtype=torch.float64)
    conic = torch.linalg.inv(cov2d)
    mean2d = torch.stack([fx * x / z + cx, fy * y / z + cy], -1)
    rgb = colours(p, torch.linalg.inv(viewmat)[:3, 3], sh_degree)
    opacity = torch.sigmoid(p["opacities"])

    v, u = torch.meshgrid(torch.arange(height, dtype=torch.float64),
                          torch.arange(width, dtype=torch.float64), indexing="ij")
    centres = torch.stack([u + 0.5, v + 0.5], -1).reshape(-1, 2)
    image = torch.zeros(len(centres), 3, dtype=torch.float64)
    T = torch.ones(len(centres), dtype=torch.float64)
    done = torch.zeros(len(centres), dtype=torch.bool)
    for i in torch.argsort(z.detach()).tolist():  # front to back
        if z[i] <= NEAR:
            continue
        d = centres - mean2d[i]
        power = 0.5 * (d @ conic[i] * d).sum(-1)
        alpha = torch.clamp_max(opacity[i] * torch.exp(-power), ALPHA_MAX)
        hit = ~done & (power >= 0) & (alpha >= ALPHA_MIN)
        next_T = T * (1 - alpha)
        finished = hit & (next_T <= T_DONE)  # exclusive: this splat is not added
        done = done | finished
        add = hit & ~finished
        image = image + torch.where(add[:, None], (alpha * T)[:, None] * rgb[i], 0.0)
        T = torch.where(add, next_T, T)
    return image.reshape(height, width, 3), (1 - T).reshape(height, width)


def few_splats(device: str = "cpu", requires_grad: bool = False) -> tuple[dict[str, torch.Tensor], torch.Tensor,
                                                                           torch.Tensor, int, int]:
    """Six splats in front of a 32x24 camera: overlapping, one behind another, two nearly opaque
    ones stacked (alpha clamped, transmittance exhausted), degree-1 SH; (params, viewmat, K, W, H)."""
    f32 = dict(dtype=torch.float32, device=device)
    params = {
        "means": torch.tensor([[0.0, 0.0, 4.0], [0.3, -0.2, 3.0], [-0.5, 0.3, 5.0], [0.1, 0.1, 2.5],
                               [0.12, 0.08, 2.6], [-0.2, -0.3, 3.5]], **f32),
        "quats": torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.9, 0.3, -0.2, 0.1], [0.7, 0.0, 0.7, 0.0],
                               [1.0, 0.2, 0.0, 0.0], [0.8, 0.0, 0.0, 0.6], [0.5, 0.5, 0.5, 0.5]], **f32),
        "scales": torch.log(torch.tensor([[0.4, 0.3, 0.2], [0.15, 0.3, 0.1], [0.6, 0.2, 0.3],
                                          [0.5, 0.5, 0.5], [0.45, 0.5, 0.4], [0.1, 0.4, 0.2]], **f32)),
        "opacities": torch.tensor([0.5, 2.0, -0.5, 9.0, 9.0, 1.0], **f32),  # sigmoid(9) > 0.999
        "sh0": torch.tensor([[[0.8, -0.3, 0.1]], [[-0.5, 0.9, 0.2]], [[0.1, 0.1, 1.2]],
                             [[1.0, 1.0, -1.0]], [[-1.0, 0.4, 0.6]], [[0.3, -0.8, 0.0]]], **f32),
        "shN": torch.tensor([[[0.2, 0.0, -0.1], [0.0, 0.3, 0.0], [-0.2, 0.1, 0.1]]] * 6, **f32),
    }
    params = {k: v.clone().requires_grad_(requires_grad) for k, v in params.items()}
    viewmat = torch.eye(4, **f32)
    K = torch.tensor([[30.0, 0.0, 16.0], [0.0, 30.0, 12.0], [0.0, 0.0, 1.0]], **f32)
    return params, viewmat, K, 32, 24
