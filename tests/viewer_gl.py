"""Helpers of the splat viewer's tests: an OpenGL skip marker, small known scenes, renders."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from app.pipeline.formats.splats import SH_C0, Splats
from app.viewer.pose import look_at


@functools.lru_cache(maxsize=1)
def gl_problem() -> str:
    """Why no OpenGL context can be made here ('' when one can)."""
    try:
        from app.viewer.offscreen import gl_backend
        from vispy import scene

        gl_backend()
        canvas = scene.SceneCanvas(size=(8, 8), show=False)
        canvas.render()
        canvas.close()
    except Exception as exc:  # noqa: BLE001 - any failure means: no OpenGL here
        return f"no OpenGL context (X display or EGL): {type(exc).__name__}: {exc}"
    return ""


def needs_gl() -> pytest.MarkDecorator:
    """Skip, saying why, where neither an X display nor EGL gives an OpenGL context."""
    return pytest.mark.skipif(bool(gl_problem()), reason=gl_problem() or "OpenGL available")


def splats(means, log_scales, opacity_logits, rgb, quats=None, shN=None) -> Splats:
    """A Splats from plain lists (colours in 0..1 become DC coefficients)."""
    means = np.asarray(means, np.float32).reshape(-1, 3)
    n = len(means)
    quats = np.tile(np.float32([1, 0, 0, 0]), (n, 1)) if quats is None else quats
    rest = np.zeros((n, 0, 3), np.float32) if shN is None else shN
    return Splats(means, np.asarray(log_scales, np.float32).reshape(n, 3),
                  np.asarray(quats, np.float32).reshape(n, 4),
                  np.asarray(opacity_logits, np.float32).reshape(n),
                  ((np.asarray(rgb, np.float32).reshape(n, 3) - 0.5) / SH_C0).astype(np.float32),
                  np.asarray(rest, np.float32))


def random_scene(n: int, sh_degree: int = 1, seed: int = 0) -> Splats:
    """`n` splats of assorted sizes, rotations, opacities and colours in a 4 x 4 x 1 m slab."""
    rng = np.random.default_rng(seed)
    means = np.column_stack([rng.uniform(-2, 2, (n, 2)), rng.uniform(-0.5, 0.5, n)])
    k = (sh_degree + 1) ** 2 - 1
    f = np.float32
    return Splats(means.astype(f), rng.normal(-3.0, 0.5, (n, 3)).astype(f),
                  rng.normal(size=(n, 4)).astype(f), rng.normal(1, 1.5, n).astype(f),
                  rng.normal(0, 0.8, (n, 3)).astype(f), rng.normal(0, 0.2, (n, k, 3)).astype(f))


def camera(eye, target, f: float = 150.0, size: tuple[int, int] = (160, 120),
           principal: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(viewmat, K) of a pinhole camera at `eye` looking at `target`."""
    R = look_at(np.asarray(eye, float), np.asarray(target, float))
    viewmat = np.eye(4)
    viewmat[:3, :3], viewmat[:3, 3] = R, -R @ np.asarray(eye, float)
    cx, cy = principal or (size[0] / 2, size[1] / 2)
    return viewmat, np.array([[f, 0, cx], [0, f, cy], [0, 0, 1.0]])


def render(model: Splats, viewmat, K, size=(160, 120), instancing=False) -> np.ndarray:
    """The splat visual's (H, W, 3) float image in 0..1 on black."""
    from app.viewer.offscreen import render_view
    from app.viewer.splat_data import prepare
    from app.viewer.splat_visual import DrawData

    image = render_view(DrawData.build(prepare(model)), viewmat, K, size, instancing=instancing)
    return image[..., :3].astype(np.float64) / 255.0


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two images in 0..1."""
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)
