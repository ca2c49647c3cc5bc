"""Initialisation, the CPU rasterizer and gsplat's strategies on CPU."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from app.pipeline.formats.splats import SH_C0
from app.pipeline.train.model import init_params, make_optimizers, to_splats
from app.pipeline.render.rasterize import rasterize_cpu
from app.pipeline.train.settings import TrainSettings
from app.pipeline.train.strategy import compute_relocation_cpu, make_densifier

CPU = torch.device("cpu")


def one_gaussian(x: float, y: float, z: float, rgb=(1.0, 0.0, 0.0)) -> dict[str, torch.Tensor]:
    return {"means": torch.tensor([[x, y, z]]), "quats": torch.tensor([[1.0, 0, 0, 0]]),
            "scales": torch.log(torch.full((1, 3), 0.1)), "opacities": torch.tensor([5.0]),
            "sh0": ((torch.tensor([rgb]) - 0.5) / SH_C0)[:, None], "shN": torch.zeros(1, 0, 3)}


def test_init_takes_point_colours_and_neighbour_scales():
    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [5, 5, 5]], np.float32)
    rgb = np.random.default_rng(0).uniform(0, 1, (5, 3)).astype(np.float32)
    params = init_params(pts, rgb, 3, 0.1, 10.0, CPU)
    splats = to_splats(params)
    np.testing.assert_allclose(splats.rgb(), rgb, atol=1e-5)
    assert splats.shN.shape == (5, 15, 3)
    np.testing.assert_allclose(splats.alpha(), 0.1, atol=1e-6)
    assert math.exp(splats.scales[0, 0]) == pytest.approx(1.0)  # 3 neighbours at distance 1
    assert np.all(splats.scales[:, 0] == splats.scales[:, 1])


def test_duplicate_points_get_clamped_finite_scales():
    pts = np.zeros((6, 3), np.float32)  # SfM can emit the same point several times
    params = init_params(pts, np.full((6, 3), 0.5, np.float32), 0, 0.1, 2.0, CPU)
    scales = params["scales"].detach()
    assert torch.isfinite(scales).all() and (scales > -20).all()


def test_a_single_gaussian_renders_where_it_projects():
    K = torch.tensor([[50.0, 0, 32], [0, 50, 24], [0, 0, 1]])
    colors, alphas, info = rasterize_cpu(one_gaussian(0.6, -0.4, 5.0), torch.eye(4), K, 64, 48, 0)
    assert colors.shape == (1, 48, 64, 3) and alphas.shape == (1, 48, 64, 1)
    u, v = 32 + 50 * 0.6 / 5, 24 - 50 * 0.4 / 5  # (38, 20)
    peak = int(alphas[0, :, :, 0].argmax())
    assert abs(peak % 64 + 0.5 - u) <= 1 and abs(peak // 64 + 0.5 - v) <= 1
    assert colors[0, 20, 38, 0] > 0.5 and colors[0, 20, 38, 1] < 0.05  # red
    assert alphas[0, 0, 0, 0] == 0  # far corner untouched
    assert info["means2d"].shape == (1, 1, 2) and info["radii"].shape == (1, 1, 2)


def test_the_nearer_gaussian_covers_the_farther_one():
    a, b = one_gaussian(0, 0, 4.0, (1, 0, 0)), one_gaussian(0, 0, 8.0, (0, 0, 1))
    K = torch.tensor([[50.0, 0, 16], [0, 50, 16], [0, 0, 1]])
    far_first, near_first = ({k: torch.cat([x[k], y[k]]) for k in a} for x, y in ((b, a), (a, b)))
    colors, _, _ = rasterize_cpu(far_first, torch.eye(4), K, 32, 32, 0)
    again, _, _ = rasterize_cpu(near_first, torch.eye(4), K, 32, 32, 0)
    torch.testing.assert_close(colors, again)  # order comes from depth, not from the list
    assert colors[0, 16, 16, 0] > 0.8 and colors[0, 16, 16, 2] < 0.1


def test_a_gaussian_behind_the_camera_is_not_drawn():
    K = torch.tensor([[50.0, 0, 16], [0, 50, 16], [0, 0, 1]])
    _, alphas, _ = rasterize_cpu(one_gaussian(0, 0, -3.0), torch.eye(4), K, 32, 32, 0)
    assert alphas.max() == 0


def strategy_setup(strategy: str, n: int = 40):
    pts = np.random.default_rng(1).normal(0, 1, (n, 3)).astype(np.float32)
    params = init_params(pts, np.full((n, 3), 0.5, np.float32), 0, 0.5, 3.0, CPU)
    settings = TrainSettings(strategy=strategy, max_gaussians=60)
    optimizers = make_optimizers(params, settings, 3.0)
    densifier = make_densifier(settings, 30_000, 3.0, params, optimizers, budget=60)
    return params, optimizers, densifier


def fake_info(n: int, grad: float) -> dict:
    means2d = torch.zeros(1, n, 2, requires_grad=True)
    means2d.grad = grad * torch.linspace(0.5, 1.5, n)[None, :, None].expand(1, n, 2).clone()
    return {"means2d": means2d, "radii": torch.full((1, n, 2), 3), "width": 64, "height": 48,
            "n_cameras": 1, "gaussian_ids": None}


def test_default_strategy_densifies_up_to_the_budget():
    params, optimizers, densifier = strategy_setup("default")
    step = densifier.strategy.refine_start_iter + densifier.strategy.refine_every
    step -= step % densifier.strategy.refine_every
    densifier.post_backward(params, optimizers, step, fake_info(40, 1.0), 1e-3)
    assert len(params["means"]) == 60  # all 40 had high gradients; growth stops at the budget
    assert len(optimizers["means"].param_groups[0]["params"][0]) == 60
    densifier.post_backward(params, optimizers, step + densifier.strategy.refine_every,
                            fake_info(60, 1.0), 1e-3)
    assert len(params["means"]) == 60


def test_default_strategy_resets_opacity_despite_the_gsplat_153_bug():
    params, optimizers, densifier = strategy_setup("default")
    reset = densifier.strategy.reset_every
    densifier.post_backward(params, optimizers, reset, fake_info(40, 0.0), 1e-3)
    assert torch.sigmoid(params["opacities"]).max() <= 2 * densifier.strategy.prune_opa + 1e-6


def test_mcmc_relocates_and_grows_on_cpu():
    params, optimizers, densifier = strategy_setup("mcmc")
    with torch.no_grad():
        params["opacities"][:10] = -10.0  # dead Gaussians to relocate
    before = params["means"].detach().clone()
    step = densifier.strategy.refine_every * 10
    densifier.post_backward(params, optimizers, step, fake_info(40, 0.0), 1e-3)
    assert len(params["means"]) == 42  # +5 %
    assert torch.sigmoid(params["opacities"][:10]).min() > 0.005  # relocated
    assert not torch.equal(params["means"][:40].detach(), before)  # MCMC noise was injected


def test_cpu_relocation_matches_equation_9_written_as_loops():
    n_max = 51
    binoms = torch.tensor([[math.comb(n, k) for k in range(n_max)] for n in range(n_max)],
                          dtype=torch.float32)
    opac = torch.tensor([0.3, 0.9, 0.05])
    scales = torch.rand(3, 3)
    ratios = torch.tensor([1, 3, 7])
    new_o, new_s = compute_relocation_cpu(opac, scales, ratios, binoms)
    for j in range(3):
        o_new = 1 - (1 - opac[j].item()) ** (1 / ratios[j].item())
        denom = sum(math.comb(i - 1, k) * (-1) ** k / math.sqrt(k + 1) * o_new ** (k + 1)
                    for i in range(1, ratios[j].item() + 1) for k in range(i))
        assert new_o[j].item() == pytest.approx(o_new, rel=1e-5)
        np.testing.assert_allclose(new_s[j].numpy(), (opac[j].item() / denom) * scales[j].numpy(),
                                   rtol=1e-4)
