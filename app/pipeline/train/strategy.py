"""gsplat's densification strategies, with what 1.5.3 lacks: the opacity reset, a Gaussian
budget for DefaultStrategy, and CPU versions of the two CUDA ops MCMCStrategy calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

import gsplat.strategy.ops as gs_ops
from gsplat.cuda._torch_impl import _quat_scale_to_covar_preci
from gsplat.strategy import DefaultStrategy, MCMCStrategy

from ..errors import InputError
from .settings import REFERENCE_STEPS, TrainSettings

MIN_REFINE_EVERY = 25


class BudgetedDefaultStrategy(DefaultStrategy):
    """DefaultStrategy with the 1.5.3 opacity-reset bug fixed and growth capped at a budget."""

    def __init__(self, max_gaussians: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_gaussians = max_gaussians

    def step_post_backward(self, params, optimizers, state, step, info, packed=False) -> None:
        """Upstream post-backward step, then the opacity reset that 1.5.3 skips."""
        super().step_post_backward(params, optimizers, state, step, info, packed=packed)
        # 1.5.3 tests `step % reset_every == 0 & step > 0`, always false (operator precedence)
        if step < self.refine_stop_iter and step > 0 and step % self.reset_every == 0:
            gs_ops.reset_opa(params=params, optimizers=optimizers, state=state,
                             value=self.prune_opa * 2.0)

    def _grow_gs(self, params, optimizers, state, step) -> tuple[int, int]:
        room = self.max_gaussians - len(params["means"])
        if room <= 0:
            return 0, 0
        grads = state["grad2d"] / state["count"].clamp_min(1)
        base = self.grow_grad2d
        if int((grads > base).sum()) > room:  # each clone or split adds one: keep the top `room`
            self.grow_grad2d = max(base, float(torch.topk(grads, room + 1).values[-1]))
        try:
            return super()._grow_gs(params, optimizers, state, step)
        finally:
            self.grow_grad2d = base


@dataclass
class Densifier:
    """A strategy with its running state, called around each backward pass."""

    strategy: DefaultStrategy | MCMCStrategy
    state: dict[str, Any]

    def pre_backward(self, params, optimizers, step: int, info: dict[str, Any]) -> None:
        """Before loss.backward(): DefaultStrategy keeps the 2D means' gradient."""
        if isinstance(self.strategy, DefaultStrategy):
            self.strategy.step_pre_backward(params, optimizers, self.state, step, info)

    def post_backward(self, params, optimizers, step: int, info: dict[str, Any],
                      means_lr: float) -> None:
        """After the optimizer step: densify, prune, reset or relocate."""
        if isinstance(self.strategy, DefaultStrategy):
            self.strategy.step_post_backward(params, optimizers, self.state, step, info,
                                             packed=False)
        else:
            self.strategy.step_post_backward(params, optimizers, self.state, step, info,
                                             lr=means_lr)

    @property
    def regularizes(self) -> bool:
        """MCMC adds opacity and scale regularisers to the loss (gsplat simple_trainer)."""
        return isinstance(self.strategy, MCMCStrategy)


def make_densifier(settings: TrainSettings, total_steps: int, scene_scale: float,
                   params, optimizers, budget: int) -> Densifier:
    """The configured strategy, gsplat's schedule compressed to this run's length.

    Refinement never comes more often than every MIN_REFINE_EVERY steps: a short run with the
    schedule scaled linearly would densify at every step.
    """
    f = total_steps / REFERENCE_STEPS
    every = max(int(100 * f), MIN_REFINE_EVERY)
    start = max(int(500 * f), 2 * every)
    if settings.strategy == "default":
        strategy = BudgetedDefaultStrategy(
            budget, refine_start_iter=start, refine_stop_iter=int(15_000 * f),
            reset_every=max(int(3000 * f), 4 * every), refine_every=every)
        strategy.check_sanity(params, optimizers)
        return Densifier(strategy, strategy.initialize_state(scene_scale=scene_scale))
    if settings.strategy == "mcmc":
        strategy = MCMCStrategy(cap_max=budget, refine_start_iter=start,
                                refine_stop_iter=int(25_000 * f), refine_every=every)
        strategy.check_sanity(params, optimizers)
        return Densifier(strategy, strategy.initialize_state())
    raise InputError(f"train.strategy must be default or mcmc, not {settings.strategy!r}",
                     hint="set train.strategy to default or mcmc")


def compute_relocation_cpu(opacities: Tensor, scales: Tensor, ratios: Tensor,
                           binoms: Tensor) -> tuple[Tensor, Tensor]:
    """Equation 9 of 3DGS-as-MCMC, vectorised in torch (gsplat ships it as a CUDA kernel only)."""
    n_max = binoms.shape[0]
    ratios = ratios.clamp(1, n_max).long()
    new_opacities = 1.0 - torch.pow(1.0 - opacities, 1.0 / ratios)
    k = torch.arange(n_max, dtype=opacities.dtype)
    term = binoms * ((-1.0) ** k / torch.sqrt(k + 1))[None, :]  # [i-1, k], zero where k > i-1
    coeff_by_n = torch.cat([torch.zeros(1, n_max), torch.cumsum(term, 0)])  # sum over i <= n
    powers = new_opacities[:, None] ** (k + 1)[None, :]
    denom = (coeff_by_n[ratios] * powers).sum(1)
    return new_opacities, (opacities / denom)[:, None] * scales


def _relocation(opacities: Tensor, scales: Tensor, ratios: Tensor,
                binoms: Tensor) -> tuple[Tensor, Tensor]:
    if opacities.is_cuda:
        return _CUDA_RELOCATION(opacities, scales, ratios, binoms)
    return compute_relocation_cpu(opacities, scales, ratios, binoms)


def _covar_preci(quats: Tensor, scales: Tensor, **kwargs: Any):
    if quats.is_cuda:
        return _CUDA_COVAR(quats, scales, **kwargs)
    return _quat_scale_to_covar_preci(quats / quats.norm(dim=-1, keepdim=True), scales, **kwargs)


# MCMC's ops module imports these two CUDA-only functions by name; route CPU tensors to torch.
_CUDA_RELOCATION = gs_ops.compute_relocation
_CUDA_COVAR = gs_ops.quat_scale_to_covar_preci
gs_ops.compute_relocation = _relocation
gs_ops.quat_scale_to_covar_preci = _covar_preci
