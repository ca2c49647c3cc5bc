"""The trainable Gaussians: initialisation from sparse points, optimizers, and export to Splats."""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import Tensor

from ..formats.splats import SH_C0, Splats
from .settings import TrainSettings

PARAM_KEYS = ("means", "scales", "quats", "opacities", "sh0", "shN")
MIN_NN_FRACTION = 1e-4  # neighbour distances are clamped to this fraction of the scene scale


def init_params(points: np.ndarray, colors: np.ndarray, sh_degree: int, init_opacity: float,
                scene_scale: float, device: torch.device) -> torch.nn.ParameterDict:
    """Gaussians at the sparse points: point colours, isotropic scales from 3 nearest neighbours."""
    n = len(points)
    k = min(4, n)  # the point itself plus up to 3 neighbours
    dist, _ = cKDTree(points).query(points, k=k)
    dist = np.asarray(dist).reshape(n, k)[:, 1:] if k > 1 else np.full((n, 1), scene_scale)
    nn = np.maximum(dist.mean(1), MIN_NN_FRACTION * scene_scale)  # duplicates would give log(0)
    scales = np.repeat(np.log(nn)[:, None], 3, 1)
    quats = np.zeros((n, 4))
    quats[:, 0] = 1.0
    sh0 = ((colors - 0.5) / SH_C0)[:, None, :]
    shN = np.zeros((n, (sh_degree + 1) ** 2 - 1, 3))
    opac = np.full(n, np.log(init_opacity / (1.0 - init_opacity)))
    arrays = {"means": points, "scales": scales, "quats": quats, "opacities": opac,
              "sh0": sh0, "shN": shN}
    return torch.nn.ParameterDict({
        key: torch.nn.Parameter(torch.as_tensor(np.asarray(arrays[key]), dtype=torch.float32,
                                                device=device)) for key in PARAM_KEYS})


def make_optimizers(params: torch.nn.ParameterDict, settings: TrainSettings,
                    scene_scale: float) -> dict[str, torch.optim.Optimizer]:
    """One Adam per parameter (as gsplat's strategies require); means lr scales with the scene."""
    lrs = {"means": settings.lr_means * scene_scale, "scales": settings.lr_scales,
           "quats": settings.lr_quats, "opacities": settings.lr_opacities,
           "sh0": settings.lr_sh0, "shN": settings.lr_shN}
    return {key: torch.optim.Adam([{"params": params[key], "lr": lrs[key], "name": key}],
                                  eps=1e-15) for key in PARAM_KEYS}


def to_splats(params: dict[str, Tensor]) -> Splats:
    """The current Gaussians in PLY conventions (normalised quaternions)."""
    def arr(key: str) -> np.ndarray:
        return params[key].detach().float().cpu().numpy()

    quats = arr("quats")
    quats = quats / np.maximum(np.linalg.norm(quats, axis=1, keepdims=True), 1e-12)
    return Splats(means=arr("means"), scales=arr("scales"), quats=quats.astype(np.float32),
                  opacities=arr("opacities"), sh0=arr("sh0")[:, 0, :], shN=arr("shN"))


def all_finite(params: dict[str, Tensor]) -> bool:
    """True when no parameter holds NaN or inf."""
    return all(bool(torch.isfinite(p).all()) for p in params.values())
