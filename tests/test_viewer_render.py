"""The splat visual renders what 3D Gaussian Splatting defines: the training rasterizer's image,
each splat's projected covariance, occlusion and alpha compositing (offscreen, Xvfb or EGL)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.viewer_gl import camera, needs_gl, psnr, random_scene, render, splats

pytestmark = [needs_gl(), pytest.mark.gui]

SIZE = (160, 120)
CENTRE = (80.5, 60.5)  # principal point on a pixel centre: the splat on the axis hits one pixel


def rasterizer_image(model, viewmat, K, size=SIZE):
    """The training rasterizer's CPU path (gsplat's projection and SH, reference compositing)."""
    import torch

    from app.pipeline.render.rasterize import rasterize_cpu
    from app.pipeline.render.views import splat_params

    colours, _, _ = rasterize_cpu(splat_params(model, torch.device("cpu")),
                                  torch.from_numpy(viewmat).float(), torch.from_numpy(K).float(),
                                  size[0], size[1], model.sh_degree)
    return colours[0].clamp(0, 1).numpy().astype(np.float64)


@pytest.mark.parametrize("instancing", [False, True], ids=["indexed-gl2", "instanced"])
def test_renders_the_training_rasterizers_image(instancing):
    model = random_scene(3000, sh_degree=2)
    viewmat, K = camera([0.7, -4.0, 3.0], [0, 0, 0], principal=(83.0, 57.5))
    ours = render(model, viewmat, K, SIZE, instancing=instancing)
    reference = rasterizer_image(model, viewmat, K)
    assert reference.mean() > 0.1  # the scene fills the view
    assert psnr(ours, reference) >= 30.0


def test_view_dependent_colour_follows_the_camera():
    """A splat whose SH make it red from the east and blue from the west."""
    shN = np.zeros((1, 3, 3), np.float32)
    shN[0, 2] = [1.5, 0, -1.5]  # basis 3 is -0.4886 x of the viewing direction: > 0 from the east
    model = splats([[0, 0, 0]], [[-1.0] * 3], [4.0], [[0.5, 0.5, 0.5]], shN=shN)
    east = render(model, *camera([5, 0, 0.5], [0, 0, 0], principal=CENTRE))[60, 80]
    west = render(model, *camera([-5, 0, 0.5], [0, 0, 0], principal=CENTRE))[60, 80]
    assert east[0] > east[2] + 0.3 and west[2] > west[0] + 0.3


def test_an_anisotropic_splat_covers_its_projected_covariance():
    angle = np.radians(30)
    quat = [np.cos(angle / 2), 0, 0, np.sin(angle / 2)]  # 30 degrees about the vertical
    opacity = 0.9
    model = splats([[0, 0, 0]], [np.log([0.3, 0.005, 0.06])], [np.log(opacity / (1 - opacity))],
                   [[1, 1, 1]], quats=[quat])
    f, height = 150.0, 5.0
    viewmat, K = camera([0, 0, height], [0, 0, 0], f=f, principal=CENTRE)
    image = render(model, viewmat, K)[..., 0]
    # expected: the 2D covariance J Sigma J^T + 0.3 I (camera x = east, y = south) ...
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    sigma = rot @ np.diag([0.3 ** 2, 0.005 ** 2]) @ rot.T * (f / height) ** 2
    sigma = np.diag([1, -1]) @ sigma @ np.diag([1, -1]) + 0.3 * np.eye(2)
    # ... drawn as min(0.99, o exp(-d' S^-1 d / 2)) where that reaches 1/255
    ys, xs = np.mgrid[0:SIZE[1], 0:SIZE[0]] + 0.5
    d = np.stack([xs - CENTRE[0], ys - CENTRE[1]], -1)
    power = -0.5 * np.einsum("...i,ij,...j->...", d, np.linalg.inv(sigma), d)
    expected = np.minimum(0.999, opacity * np.exp(power))
    expected[expected < 1 / 255] = 0
    assert np.abs(image - expected).max() <= 3 / 255

    def moments(w):
        return np.einsum("yx,yxi,yxj->ij", w, d, d) / w.sum()

    np.testing.assert_allclose(moments(image), moments(expected), rtol=0.02)
    major = np.linalg.eigh(sigma)[1][:, 1]
    reach = np.sqrt(2 * np.log(255 * opacity)) * np.sqrt(np.linalg.eigvalsh(sigma)[1])
    extent = np.abs(d[image > 0] @ major).max()  # lit pixel centres along the major axis
    assert reach - 1.5 <= extent <= reach  # (pixel centres sample the ellipse's tip)


@pytest.mark.parametrize("near_first", [True, False])
def test_a_near_opaque_splat_hides_a_far_one(near_first):
    near = ([0, 0, 1.0], np.log([0.2] * 3), 4.6, [1, 0, 0])  # opacity 0.99
    far = ([0, 0, 0.0], np.log([0.2] * 3), 4.6, [0, 1, 0])
    rows = [near, far] if near_first else [far, near]
    model = splats(*[list(col) for col in zip(*rows)])
    pixel = render(model, *camera([0, 0, 5], [0, 0, 0], principal=CENTRE))[60, 80]
    assert pixel[0] > 0.97 and pixel[1] < 0.02


def test_two_translucent_splats_composite_as_the_formula():
    near_rgb, near_alpha = np.array([0.8, 0.2, 0.1]), 0.5
    far_rgb, far_alpha = np.array([0.1, 0.6, 0.9]), 0.6
    model = splats([[0, 0, 0.0], [0, 0, 1.0]], np.log([[0.3] * 3, [0.3] * 3]),
                   [np.log(far_alpha / (1 - far_alpha)), 0.0], [far_rgb, near_rgb])
    pixel = render(model, *camera([0, 0, 5], [0, 0, 0], principal=CENTRE))[60, 80]
    expected = near_alpha * near_rgb + (1 - near_alpha) * far_alpha * far_rgb
    np.testing.assert_allclose(pixel, expected, atol=2.5 / 255)
