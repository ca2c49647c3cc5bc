"""View-dependent colour from spherical harmonics (degree 0-3), in numpy.

The basis and constants are gsplat's `_eval_sh_bases_fast` (Sloan, JCGT 2013), so the viewer's
colours match the training rasterizer's; written in numpy because the viewer must not import torch.
"""

from __future__ import annotations

import numpy as np

C0 = 0.2820947917738781


def sh_basis(dirs: np.ndarray, degree: int) -> np.ndarray:
    """(N, (degree+1)^2) basis values at unit directions (N, 3)."""
    n = len(dirs)
    out = np.empty((n, (degree + 1) ** 2), np.float32)
    out[:, 0] = C0
    if degree == 0:
        return out
    x, y, z = dirs[:, 0], dirs[:, 1], dirs[:, 2]
    a = -0.48860251190292
    out[:, 1], out[:, 2], out[:, 3] = a * y, -a * z, a * x
    if degree == 1:
        return out
    z2 = z * z
    b = -1.092548430592079 * z
    c1, s1 = x * x - y * y, 2 * x * y
    out[:, 4] = 0.5462742152960395 * s1
    out[:, 5] = b * y
    out[:, 6] = 0.9461746957575601 * z2 - 0.3153915652525201
    out[:, 7] = b * x
    out[:, 8] = 0.5462742152960395 * c1
    if degree == 2:
        return out
    tc = -2.285228997322329 * z2 + 0.4570457994644658
    tb = 1.445305721320277 * z
    ta = -0.5900435899266435
    c2, s2 = x * c1 - y * s1, x * s1 + y * c1
    out[:, 9] = ta * s2
    out[:, 10] = tb * s1
    out[:, 11] = tc * y
    out[:, 12] = z * (1.865881662950577 * z2 - 1.119528997770346)
    out[:, 13] = tc * x
    out[:, 14] = tb * c1
    out[:, 15] = ta * c2
    return out


def sh_colours(sh0: np.ndarray, shN: np.ndarray, means: np.ndarray, campos: np.ndarray,
               chunk: int = 262_144) -> np.ndarray:
    """RGB (N, 3) float32 seen from `campos`: max(0, SH(dir) + 0.5), as the rasterizer."""
    k = shN.shape[1]
    degree = {0: 0, 3: 1, 8: 2, 15: 3}[k]
    out = np.empty((len(means), 3), np.float32)
    for a in range(0, len(means), chunk):
        b = min(len(means), a + chunk)
        rgb = C0 * sh0[a:b]
        if degree:
            d = means[a:b] - campos.astype(np.float32)
            d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
            basis = sh_basis(d, degree)[:, 1:]
            rgb = rgb + np.einsum("nk,nkc->nc", basis, shN[a:b])
        out[a:b] = np.maximum(rgb + 0.5, 0.0)
    return out
