"""The CPU rasterizer against an independent per-pixel evaluation of the 3DGS equations
(tests/reference_render.py): images and gradients agree, including clamped alpha and pixels
whose transmittance runs out."""

from __future__ import annotations

import torch

from app.pipeline.render.rasterize import rasterize_cpu
from reference_render import few_splats, reference_render


def test_the_cpu_rasterizer_renders_what_the_equations_say():
    params, viewmat, K, width, height = few_splats()
    for degree in (0, 1):
        expected, expected_alpha = reference_render(params, viewmat, K, width, height, degree)
        colors, alphas, _ = rasterize_cpu(params, viewmat, K, width, height, degree)
        assert expected_alpha.max() > 0.999  # the stacked opaque splats exhaust transmittance
        assert (expected_alpha > 0.01).float().mean() > 0.3  # most of the image is covered
        torch.testing.assert_close(colors[0].double(), expected, atol=2e-5, rtol=0)
        torch.testing.assert_close(alphas[0, ..., 0].double(), expected_alpha, atol=2e-5, rtol=0)


def test_its_gradients_are_the_equations_gradients():
    weights = torch.rand(24, 32, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    grads = []
    for render in (lambda p, *a: reference_render(p, *a)[0], lambda p, *a: rasterize_cpu(p, *a)[0][0].double()):
        params, viewmat, K, width, height = few_splats(requires_grad=True)
        (render(params, viewmat, K, width, height, 1) * weights).sum().backward()
        grads.append({k: v.grad.double() for k, v in params.items()})
    expected, got = grads
    for key in expected:
        scale = expected[key].abs().max().clamp_min(1e-6)
        torch.testing.assert_close(got[key] / scale, expected[key] / scale, atol=1e-3, rtol=0, msg=key)
