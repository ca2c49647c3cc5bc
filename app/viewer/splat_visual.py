"""The splat visual: a true 3DGS renderer for vispy (GLSL 120), fed prepared arrays.

Splat data lives in float textures uploaded once per model; each frame uploads only the slots
to draw (instanced where the context offers it, else 4 indexed vertices per splat). The
`DrawScheduler` decides what a frame draws; splats go into an offscreen target (the
"display" one, or the "refine" one accumulating chunks) which is then shown with one quad, so
a frame never waits on a sort nor draws more than its budget.
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
from .splat_data import SplatArrays, pack_colours, textures
from .splat_shaders import BLIT_FRAGMENT, BLIT_VERTEX, FRAGMENT, VERTEX

BLEND = dict(blend=True, blend_func=("one", "one_minus_src_alpha"), depth_test=False,
             cull_face=False)
QUAD = np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], np.float32)


@dataclass
class DrawData:
    """What the visual uploads for a model: prepared arrays and their three data textures."""

    arrays: SplatArrays
    t0: np.ndarray
    t1: np.ndarray
    t2: np.ndarray

    @classmethod
    def build(cls, arrays: SplatArrays) -> "DrawData":
        """Textures with base colours (SH degree 0); runs in a worker for big models."""
        return cls(arrays, *textures(arrays, arrays.colours()))


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
    GL 2.1 path (4 indexed vertices per splat).
    """

    def __init__(self, submit: Submit = synchronous, instancing: bool | None = None) -> None:
        super().__init__(vcode=VERTEX, fcode=FRAGMENT)
        self.scheduler = DrawScheduler(submit, self._request_redraw)
        self.instancing = instancing
        self.highlight = False
        self.data: DrawData | None = None
        self._crop: tuple[np.ndarray, np.ndarray] | None = None
        self._textures: list[gloo.Texture2D] = []
        self._targets: dict[str, gloo.FrameBuffer] = {}
        self._blit = gloo.Program(BLIT_VERTEX, BLIT_FRAGMENT)
        self._blit["a_position"] = QUAD
        self._timer = None
        self._static_size = -1  # slots the indexed path's static vertex buffers cover
        self._slots: gloo.VertexBuffer | None = None  # instanced: one slot per instance
        self._indices = gloo.IndexBuffer(np.zeros(6, np.uint32))  # indexed: 6 per splat
        self.last_draw_s = 0.0
        self._draw_mode = "triangles"

    # -- data -----------------------------------------------------------------------------------
    def set_data(self, data: DrawData) -> None:
        """Show a model (replacing the previous one in place)."""
        self.data = data
        shape = data.t0.shape
        if not self._textures or self._textures[0].shape[:2] != shape[:2]:
            self._textures = [gloo.Texture2D(t, internalformat="rgba32f", interpolation="nearest",
                                             wrapping="clamp_to_edge")
                              for t in (data.t0, data.t1, data.t2)]
        else:
            for tex, t in zip(self._textures, (data.t0, data.t1, data.t2)):
                tex.set_data(t)
        for i, tex in enumerate(self._textures):
            self.shared_program[f"u_t{i}"] = tex
        self.shared_program["u_tex_size"] = (shape[1], shape[0])
        arrays = data.arrays
        colours = (lambda eye: pack_colours(arrays.colours(eye))) if arrays.view_dependent \
            else None
        self.scheduler.set_data(arrays.xyz, colours)

    def set_colours(self, packed: np.ndarray) -> None:
        """Replace the per-slot packed colours (see splat_data.pack_colours)."""
        self._set_t2_column(2, packed)

    def set_flags(self, flags: np.ndarray | None) -> None:
        """Mark slots (1) to highlight, e.g. what the floater filter would remove."""
        n = len(self.data.arrays) if self.data else 0
        self._set_t2_column(3, np.zeros(n, np.float32) if flags is None else flags)

    def set_crop(self, box: tuple[np.ndarray, np.ndarray] | None) -> None:
        """Hide splats whose centre lies outside (min corner, max corner); None shows all."""
        self._crop = box
        self.scheduler.set_crop(box)

    def _set_t2_column(self, column: int, values: np.ndarray) -> None:
        if self.data is not None:
            self._upload_t2_column(column, values)
            self.scheduler.invalidate()

    def _upload_t2_column(self, column: int, values: np.ndarray) -> None:
        self.data.t2.reshape(-1, 4)[: len(values), column] = values
        self._textures[2].set_data(self.data.t2)

    # -- drawing --------------------------------------------------------------------------------
    def _prepare_transforms(self, view) -> None:
        """Positions are mapped by the clip matrix uniform, not by vispy's shader transforms."""

    def draw(self) -> None:
        """One frame: the scheduler's plan into an offscreen target, then show the display one."""
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
        if plan.colours is not None:
            self._upload_t2_column(2, plan.colours)
        if plan.ids is not None:
            self._draw_splats(canvas, plan.ids, plan.target, plan.clear, mvp, viewport)
            if plan.swap:
                self._targets["display"], self._targets["refine"] = \
                    self._targets["refine"], self._targets["display"]
        gloo.set_state(**BLEND)
        self._blit["u_image"] = self._targets["display"].color_buffer
        self._blit.draw("triangle_strip")

    def _draw_splats(self, canvas, ids: np.ndarray, target: str, clear: bool, mvp: np.ndarray,
                     viewport: tuple[int, int]) -> None:
        fbo = self._targets[target]
        canvas.push_fbo(fbo, (0, 0), canvas.size)
        try:
            if clear:
                gloo.clear(color=(0.0, 0.0, 0.0, 0.0), depth=False)
            if len(ids):
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
                self._draw_ids(ids)
                gl.glFinish()  # the draw's real cost, for the budget
                self.last_draw_s = time.perf_counter() - t0
                self.scheduler.measured(len(ids), self.last_draw_s)
        finally:
            canvas.pop_fbo()

    def _draw_ids(self, ids: np.ndarray) -> None:
        program = self._program
        if self.instancing:
            if self._slots is None:
                self._slots = gloo.VertexBuffer(np.zeros(1, np.float32), divisor=1)
                program["a_slot"] = self._slots
                program["a_corner"] = np.arange(4, dtype=np.float32)
            self._slots.set_data(ids.astype(np.float32))
            program.draw("triangle_strip")
            return
        n = len(self.data.arrays)
        if self._static_size != n:  # slot and corner of vertex 4 s + c, drawn through indices
            program["a_slot"] = np.repeat(np.arange(n, dtype=np.float32), 4)
            program["a_corner"] = np.tile(np.arange(4, dtype=np.float32), n)
            self._static_size = n
        corners = np.array([0, 1, 2, 2, 1, 3], np.uint32)
        self._indices.set_data((ids.astype(np.uint32)[:, None] * 4 + corners).ravel())
        program.draw("triangles", self._indices)

    def _ensure_targets(self, viewport: tuple[int, int]) -> None:
        shape = (viewport[1], viewport[0], 4)
        if self._targets and self._targets["display"].color_buffer.shape == shape:
            return
        self._targets = {name: gloo.FrameBuffer(color=gloo.Texture2D(shape, format="rgba"))
                         for name in ("display", "refine")}
        self.scheduler.invalidate()

    def _request_redraw(self, delay: float) -> None:
        if delay <= 0:
            self.update()
            return
        from vispy import app

        if self._timer is None:
            try:
                self._timer = app.Timer(iterations=1, connect=lambda event: self.update())
            except Exception:  # noqa: BLE001 - a backend without timers (EGL): no rest redraw
                return
        self._timer.stop()
        self._timer.interval = delay
        self._timer.start(iterations=1)

    def _compute_bounds(self, axis: int, view) -> tuple[float, float] | None:
        if self.data is None or len(self.data.arrays) == 0:
            return None
        lo, hi = self.data.arrays.bounds()
        return float(lo[axis]), float(hi[axis])


SplatNode = create_visual_node(SplatVisual)
