"""The splat visual: a true 3DGS renderer for vispy (GLSL 120), fed prepared arrays.

The `DrawScheduler` decides what a frame draws and hands over the splats' rows already
gathered in draw order (off the UI thread); the visual uploads them as per-instance attributes
where the context offers instancing, else repeated for the 3 vertices of each splat's triangle.
Splats go into an offscreen target (the "display" one, or the "refine" one accumulating
chunks), then shown with one quad, so a frame never waits on a sort nor draws past its budget.
(Per-splat textures read in the vertex shader were measured 25-30 % slower on llvmpipe.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from vispy import gloo
from vispy.gloo import gl
from vispy.scene.visuals import create_visual_node
from vispy.visuals import Visual

from .scheduler import DrawScheduler, Submit, synchronous
from .sorting import NEAR
from .splat_data import SplatArrays, pack_colours, rows
from .splat_shaders import BLIT_FRAGMENT, BLIT_VERTEX, FRAGMENT, VERTEX

BLEND = dict(blend=True, blend_func=("one", "one_minus_src_alpha"), depth_test=False,
             cull_face=False)
QUAD = np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], np.float32)
TRIANGLE = np.array([[0, 2], [-np.sqrt(3), -1], [np.sqrt(3), -1]], np.float32)  # around r = 1


@dataclass
class DrawData:
    """What the visual draws from: prepared arrays and their row tables (splat_data.rows)."""

    arrays: SplatArrays
    table: tuple[np.ndarray, np.ndarray, np.ndarray]

    @classmethod
    def build(cls, arrays: SplatArrays) -> "DrawData":
        """Rows with base colours (SH degree 0); runs in a worker for big models."""
        return cls(arrays, rows(arrays, arrays.colours()))


def _gl_plus() -> bool:
    return gl.current_backend.__name__.endswith("glplus")


def instancing_available() -> bool:
    """True when the current context draws instanced: PyOpenGL (vispy's 'gl+') and GL >= 3.3
    or ARB_instanced_arrays. Call with the context current."""
    if _gl_plus():
        return True
    try:
        import OpenGL.GL  # noqa: F401 - vispy's gl+ backend needs PyOpenGL
        version = gl.glGetParameter(gl.GL_VERSION)
        extensions = gl.glGetParameter(gl.GL_EXTENSIONS)
    except Exception:  # noqa: BLE001 - no PyOpenGL or a context that cannot say
        return False
    major_minor = tuple(int(p) for p in str(version).split()[0].split(".")[:2])
    return major_minor >= (3, 3) or "GL_ARB_instanced_arrays" in str(extensions)


class SplatVisual(Visual):
    """Draws a `DrawData`; `submit(fn, done)` runs sorts off the UI thread.

    `instancing`: None picks what the context offers at the first draw; False forces the
    GL 2.1 path (3 vertices per splat, each carrying the splat's rows).
    """

    def __init__(self, submit: Submit = synchronous, instancing: bool | None = None) -> None:
        super().__init__(vcode=VERTEX, fcode=FRAGMENT)
        self.scheduler = DrawScheduler(submit, self._request_redraw)
        self.instancing = instancing
        self.highlight = False
        self.data: DrawData | None = None
        self._crop: tuple[np.ndarray, np.ndarray] | None = None
        self._buffers: list[gloo.VertexBuffer] = []
        self._corners: gloo.VertexBuffer | None = None
        self._targets: dict[str, gloo.FrameBuffer] = {}
        self._blit = gloo.Program(BLIT_VERTEX, BLIT_FRAGMENT)
        self._blit["a_position"] = QUAD
        self._timers: dict[str, object] = {}
        self.last_draw_s = 0.0
        self._draw_mode = "triangles"

    # -- data -----------------------------------------------------------------------------------
    def set_data(self, data: DrawData) -> None:
        """Show a model (replacing the previous one in place)."""
        self.data = data
        arrays = data.arrays
        colours = (lambda eye: pack_colours(arrays.colours(eye))) if arrays.view_dependent \
            else None
        self.scheduler.set_data(arrays.xyz, data.table, colours)

    def set_flags(self, flags: np.ndarray | None) -> None:
        """Mark slots (1) to highlight, e.g. what the floater filter would remove."""
        if self.data is None:
            return
        reach = self.data.table[2][:, 3]
        marked = np.zeros(len(reach), bool) if flags is None else np.asarray(flags) > 0
        reach[:] = np.where(marked, -np.abs(reach), np.abs(reach))
        self.scheduler.rows_changed()

    def set_crop(self, box: tuple[np.ndarray, np.ndarray] | None) -> None:
        """Hide splats whose centre lies outside (min corner, max corner); None shows all."""
        self._crop = box
        self.scheduler.set_crop(box)

    # -- drawing --------------------------------------------------------------------------------
    def _prepare_transforms(self, view) -> None:
        """Positions are mapped by the clip matrix uniform, not by vispy's shader transforms."""

    def draw(self) -> None:
        """One frame: the scheduler's plan into an offscreen target, then show one with a quad."""
        if not self.visible or self.data is None:
            return
        canvas = self.transforms.canvas
        mvp = self.transforms.get_transform("visual", "render").map(np.eye(4)).T
        corners = self.transforms.get_transform("render", "framebuffer").map(
            np.array([[-1, -1, 0, 1], [1, 1, 0, 1]], float))
        size = np.abs(corners[1, :2] / corners[1, 3] - corners[0, :2] / corners[0, 3])
        viewport = (max(1, int(round(size[0]))), max(1, int(round(size[1]))))
        if self.instancing is None:
            self.instancing = instancing_available()
        if self.instancing and not _gl_plus():
            gl.use_gl("gl+")
        self._ensure_targets(viewport)
        plan = self.scheduler.frame(mvp, viewport)
        if plan.target is not None:
            self._draw_splats(canvas, plan, mvp, viewport)
            if plan.swap:
                self._targets["display"], self._targets["refine"] = \
                    self._targets["refine"], self._targets["display"]
        gloo.set_state(**BLEND)
        self._blit["u_image"] = self._targets[plan.show].color_buffer
        self._blit.draw("triangle_strip")

    def _draw_splats(self, canvas, plan, mvp: np.ndarray, viewport: tuple[int, int]) -> None:
        if plan.target == "preview":
            viewport = (max(1, round(viewport[0] * plan.scale)),
                        max(1, round(viewport[1] * plan.scale)))
            self._target("preview", viewport)
        canvas.push_fbo(self._targets[plan.target], (0, 0), canvas.size)
        try:
            if plan.clear:
                gloo.clear(color=(0.0, 0.0, 0.0, 0.0), depth=False)
            if plan.count:
                t0 = time.perf_counter()
                program = self.shared_program
                program["u_mvp"] = mvp.T.astype(np.float32)  # GLSL reads it column-major
                program["u_viewport"] = viewport
                program["u_near"] = NEAR
                program["u_highlight"] = float(self.highlight)
                crop = self._crop
                program["u_crop_on"] = float(crop is not None)
                program["u_crop_min"] = tuple(crop[0]) if crop else (0.0, 0.0, 0.0)
                program["u_crop_max"] = tuple(crop[1]) if crop else (0.0, 0.0, 0.0)
                gloo.set_state(**BLEND)
                self._upload(plan.rows)
                self._program.draw("triangles")
                gl.glFinish()  # the draw's real cost, for the budget
                self.last_draw_s = time.perf_counter() - t0
                self.scheduler.measured(plan.count, self.last_draw_s, plan.target)
        finally:
            canvas.pop_fbo()

    def _upload(self, rows: tuple[np.ndarray, ...]) -> None:
        """The splats' rows as attributes: per instance, or repeated for each vertex."""
        n = len(rows[0])
        if not self.instancing:
            rows = tuple(np.repeat(r, 3, axis=0) for r in rows)
        if not self._buffers:
            divisor = 1 if self.instancing else None
            self._buffers = [gloo.VertexBuffer(r, divisor=divisor) for r in rows]
            for name, buffer in zip(("a_t0", "a_t1", "a_t2"), self._buffers):
                self.shared_program[name] = buffer
        else:
            for buffer, r in zip(self._buffers, rows):
                buffer.set_data(r)
        corners = TRIANGLE if self.instancing else np.tile(TRIANGLE, (n, 1))
        if self._corners is None:
            self._corners = gloo.VertexBuffer(corners)
            self.shared_program["a_corner"] = self._corners
        elif self._corners.size != len(corners):
            self._corners.set_data(corners)

    def _ensure_targets(self, viewport: tuple[int, int]) -> None:
        """Full-size refine and display targets (a new size redraws everything)."""
        if self._target("display", viewport) | self._target("refine", viewport):
            self._target("preview", viewport)
            self.scheduler.invalidate()

    def _target(self, name: str, size: tuple[int, int]) -> bool:
        """Make target `name` `size` (w, h) pixels; True when it was (re)made."""
        shape = (size[1], size[0], 4)
        fbo = self._targets.get(name)
        if fbo is not None and fbo.color_buffer.shape == shape:
            return False
        self._targets[name] = gloo.FrameBuffer(color=gloo.Texture2D(shape, format="rgba",
                                                                     interpolation="linear"))
        return True

    def _request_redraw(self, delay: float) -> None:
        """A frame in `delay` seconds, from a timer: an update asked for while drawing is lost."""
        from vispy import app

        key = "soon" if delay <= 0 else "rest"
        timer = self._timers.get(key)
        if timer is None:
            try:
                timer = app.Timer(iterations=1, connect=lambda event: self.update())
            except Exception:  # noqa: BLE001 - a backend without timers (EGL): draw when asked
                self.update()
                return
            self._timers[key] = timer
        timer.stop()
        timer.interval = max(delay, 0.0)
        timer.start(iterations=1)

    def _compute_bounds(self, axis: int, view) -> tuple[float, float] | None:
        if self.data is None or len(self.data.arrays) == 0:
            return None
        lo, hi = self.data.arrays.bounds
        return float(lo[axis]), float(hi[axis])


SplatNode = create_visual_node(SplatVisual)
