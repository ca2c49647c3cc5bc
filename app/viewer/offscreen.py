"""Render one camera's view of splats offscreen, through the same visual the window draws with
(for `spaceport render`, thumbnails and pixel tests). Needs an X display or EGL."""

from __future__ import annotations

import os

import numpy as np

from app.pipeline.errors import SpaceportError

from .splat_visual import DrawData

_BACKEND: str | None = None


class NoOpenGL(SpaceportError):
    """Neither an X display nor EGL offers an OpenGL context."""


def gl_backend() -> str:
    """The vispy app backend for offscreen work: Qt on an X display, else EGL surfaceless."""
    global _BACKEND
    if _BACKEND is not None:
        return _BACKEND
    from vispy import app

    tried = []
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        try:
            app.use_app("pyside6")
            _BACKEND = "pyside6"
            return _BACKEND
        except Exception as exc:  # noqa: BLE001 - reported below with the EGL attempt
            tried.append(f"Qt: {exc}")
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    try:
        app.use_app("egl")
        _BACKEND = "egl"
        return _BACKEND
    except Exception as exc:  # noqa: BLE001
        tried.append(f"EGL: {exc}")
    raise NoOpenGL("Rendering needs OpenGL, from an X display or EGL, and neither is available "
                   f"({'; '.join(tried) or 'no DISPLAY set'})",
                   hint="run under a desktop session, or `xvfb-run -a spaceport ...`, or install "
                        "Mesa's EGL (libegl1 libegl-mesa0 libgl1-mesa-dri)")


def render_view(data: DrawData, viewmat: np.ndarray, K: np.ndarray, size: tuple[int, int],
                background: tuple[float, float, float] = (0.0, 0.0, 0.0),
                instancing: bool | None = None) -> np.ndarray:
    """(H, W, 3) uint8 image of the splats seen by a pinhole camera (COLMAP pose, intrinsics K
    at `size` = (w, h)), every visible splat drawn."""
    from vispy import scene

    from .camera import PinholeCamera
    from .splat_visual import SplatNode

    gl_backend()
    canvas = scene.SceneCanvas(size=size, show=False, bgcolor=background)
    try:
        view = canvas.central_widget.add_view(border_width=0, margin=0)
        camera = PinholeCamera()
        view.camera = camera
        lo, hi = data.arrays.bounds
        camera.scene_size = float(np.linalg.norm(hi - lo)) or 1.0
        node = SplatNode(instancing=instancing, parent=view.scene)
        node.scheduler.draw_everything = True
        node.set_data(data)
        camera.look_through(viewmat, K, size)
        return canvas.render(size=size, alpha=False)
    finally:
        canvas.close()
