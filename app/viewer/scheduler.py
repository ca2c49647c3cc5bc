"""What each frame of the splat visual draws and when sorting happens (no OpenGL, no Qt).

While the camera moves a frame draws the budgeted subset (the most important visible splats,
as many as fit the frame-time budget) sorted for a recent view into a "preview" target, at half
resolution where the renderer cannot draw the whole model in one frame (llvmpipe is
fragment-bound on close views); sorts run through the injected `submit`, one at a time, and
the previous order is drawn meanwhile. A sort also gathers the rows of the splats it lists, so
the UI thread only uploads them. Once the camera has rested, the whole visible model is sorted
(and view-dependent colours evaluated) off the UI thread and drawn at full resolution into a
"refine" target in budgeted chunks, one per frame, which then becomes the "display" target.
Budgets follow the measured draw times, so a fast GPU draws everything every frame.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .sorting import DrawList, draw_list

Submit = Callable[[Callable[[], Any], Callable[[Any], None]], None]  # done(result or exception)
Redraw = Callable[[float], None]  # ask for a frame in `delay` seconds
Colours = Callable[[np.ndarray], np.ndarray]  # camera position -> packed colours per slot
Rows = tuple[np.ndarray, np.ndarray, np.ndarray]
Crop = tuple[np.ndarray, np.ndarray] | None

FRAME_BUDGET_S = 0.025  # splat drawing per moving frame; the rest of 50 ms is for everything else
REFINE_BUDGET_S = 0.015  # per refinement chunk: input and the rest of the paint fit 50 ms
REST_S = 0.2  # the camera counts as resting after this long without a change
MIN_BUDGET = 500  # a close view of big splats is fragment-bound: a few hundred can fill a frame
FIRST_BUDGET = 5_000  # until a frame was measured: about 75 ms on llvmpipe at worst
PENDING_EXPIRY_S = 10.0  # a sort whose answer never came (its task was cancelled) stops blocking
COLOUR = 2, 2  # packed colours live in rows[2][:, 2]


def synchronous(fn: Callable[[], Any], done: Callable[[Any], None]) -> None:
    """A `Submit` that runs the job at once (offscreen renders and tests)."""
    try:
        result = fn()
    except Exception as exc:  # noqa: BLE001 - handed to `done`, as a pool's failure callback does
        result = exc
    done(result)


def same_view(a: np.ndarray, b: np.ndarray) -> bool:
    """True for clip matrices equal up to floating-point rounding."""
    return bool(np.allclose(a, b, rtol=1e-9, atol=1e-12 * float(np.abs(a).max())))


def camera_position(mvp: np.ndarray) -> np.ndarray:
    """The eye of a perspective clip matrix: where its x, y and w rows all vanish."""
    rows = mvp[[0, 1, 3]]
    return np.linalg.solve(rows[:, :3], -rows[:, 3])


@dataclass
class FramePlan:
    """One frame's work for the visual: clear `target` ("preview", drawn at `scale` x the
    viewport, or "refine") if `clear`, draw `rows` (splats far to near) into it, make the refine
    target the display one if `swap`, then show the `show` target ("preview" or "display")."""

    rows: Rows | None = None
    target: str | None = None
    clear: bool = False
    swap: bool = False
    show: str = "preview"
    scale: float = 1.0

    @property
    def count(self) -> int:
        """Splats to draw."""
        return 0 if self.rows is None else len(self.rows[0])


def gathered(table: Rows, ids: np.ndarray, colours: np.ndarray | None = None) -> Rows:
    """The rows of `ids`, in that order (with other packed colours when given)."""
    out = tuple(np.ascontiguousarray(t[ids]) for t in table)
    if colours is not None:
        out[COLOUR[0]][:, COLOUR[1]] = colours[ids]
    return out  # type: ignore[return-value]


class DrawScheduler:
    """Budget, sort requests and chunked refinement of one splat model."""

    def __init__(self, submit: Submit, redraw: Redraw, frame_budget_s: float = FRAME_BUDGET_S,
                 rest_s: float = REST_S, clock: Callable[[], float] = time.perf_counter,
                 refine_budget_s: float = REFINE_BUDGET_S) -> None:
        self._submit, self._redraw = submit, redraw
        self.frame_budget_s, self.rest_s, self._clock = frame_budget_s, rest_s, clock
        self.refine_budget_s = refine_budget_s
        self.draw_everything = False  # one complete frame each time (offscreen renders)
        self._xyz = np.zeros((3, 0), np.float32)
        self._table: Rows | None = None
        self._colours: Colours | None = None
        self._crop: Crop = None
        self._gen = [0, 0, 0]  # model, crop box, row content: lists of older ones are stale
        self._cost: dict[str, float] = {}  # seconds per splat drawn, per target, measured
        self._interactive: DrawList | None = None
        self._full: DrawList | None = None
        self._colour_eye: np.ndarray | None = None
        self._pending = False
        self._pending_since = 0.0
        self.error: BaseException | None = None  # the last sort that failed
        self._view: tuple[np.ndarray, tuple[int, int]] | None = None  # (clip matrix, viewport)
        self._view_id = 0  # counts view changes
        self._last_move = -np.inf
        self._shown: tuple[int, int] | None = None  # (serial of the list drawn, view id) on display
        self._shown_count = 0
        self._serial = 0
        self._display_complete = False  # the display target holds every visible splat
        self._preview_complete = False  # so does the preview (a full-size, complete list)
        self._showing = "preview"
        self._refine_at: int | None = None

    # -- inputs ---------------------------------------------------------------------------------
    def set_data(self, xyz: np.ndarray, table: Rows, colours: Colours | None = None) -> None:
        """A new model: (3, N) positions and its row tables in slot order; `colours` evaluates
        view-dependent packed colours for a camera position."""
        self._xyz, self._table, self._colours = xyz, table, colours
        self._gen[0] += 1
        self._interactive = self._full = None
        self._colour_eye = None
        self._invalidate(keep_image=True)

    def set_crop(self, crop: Crop) -> None:
        """Hide splats outside (min corner, max corner), or show all with None."""
        self._crop = None if crop is None else (np.asarray(crop[0], np.float32),
                                                np.asarray(crop[1], np.float32))
        self._gen[1] += 1
        self._invalidate()

    def rows_changed(self) -> None:
        """The row table was edited in place (flags): lists are gathered again."""
        self._gen[2] += 1
        self._invalidate()

    def invalidate(self) -> None:
        """Redraw the display (the visual's targets changed)."""
        self._invalidate()

    def measured(self, count: int, seconds: float, target: str = "preview") -> None:
        """The visual drew `count` splats into `target` in `seconds` (GPU work finished)."""
        if count < 200:
            return  # fixed costs dominate: says nothing about the cost per splat
        cost, old = seconds / count, self._cost.get(target)
        if old is None or cost > old:
            self._cost[target] = cost  # slower frames shrink the budget at once (no stall repeats)
        else:
            self._cost[target] = 0.5 * (old + cost)  # faster ones grow it over a few frames

    # -- state -----------------------------------------------------------------------------------
    @property
    def total(self) -> int:
        """Splats in the model."""
        return self._xyz.shape[1]

    @property
    def budget(self) -> int:
        """Splats a moving frame may draw."""
        return self._budget("preview")

    @property
    def refine_budget(self) -> int:
        """Splats one refinement chunk may draw."""
        return self._budget("refine")

    @property
    def preview_scale(self) -> float:
        """Resolution of moving frames: half where the whole model does not fit one frame."""
        cost = self._cost.get("refine")
        return 1.0 if cost is None or self.frame_budget_s / cost >= self.total else 0.5

    def _budget(self, target: str) -> int:
        cost = self._cost.get(target, self._cost.get("refine"))  # a preview costs no more
        if cost is None:
            return FIRST_BUDGET
        seconds = self.frame_budget_s if target == "preview" else self.refine_budget_s
        return int(max(MIN_BUDGET, seconds / cost))

    @property
    def drawn(self) -> int:
        """Splats in the image on screen (for 'N drawn of M')."""
        return 0 if self._shown is None else self._shown_count

    @property
    def complete(self) -> bool:
        """True when the image shown holds every visible splat for the current view."""
        return self._refine_at is None and (self._display_complete or self._preview_complete)

    @property
    def refining(self) -> bool:
        """True while the whole model is being drawn in chunks."""
        return self._refine_at is not None

    # -- the frame -------------------------------------------------------------------------------
    def frame(self, mvp: np.ndarray, viewport: tuple[int, int]) -> FramePlan:
        """What to do this frame for the view `mvp` (world -> clip) on a `viewport` (pixels)."""
        now = self._clock()
        if self._view is not None and same_view(self._view[0], mvp) and \
                self._view[1] == tuple(viewport):
            mvp = self._view[0]  # the same view, up to rounding (an offscreen grab, say)
        if self._view is None or mvp is not self._view[0] or tuple(viewport) != self._view[1]:
            self._view, self._last_move = (mvp, tuple(viewport)), now
            self._view_id += 1
            self._refine_at = None
            self._display_complete = self._preview_complete = False
        if self._table is None:
            return FramePlan()
        view = self._view_id
        if self.draw_everything:
            return self._everything(mvp, view)
        if self._pending and now - self._pending_since > PENDING_EXPIRY_S:
            self._pending = False
        rested = now - self._last_move >= self.rest_s
        if not rested and not self.complete:  # (timers may fire a little early: ask again)
            self._redraw(self.rest_s - (now - self._last_move) + 0.005)
        if not self._pending:
            if rested and not self._colours_stale(mvp) and self._full is None and \
                    self._fresh(self._interactive, mvp) and self._interactive.complete:
                self._full = self._interactive  # it lists everything: refine from it
            if rested:
                if self._colours_stale(mvp) or not (
                        self.complete or self._fresh(self._full, mvp)):
                    self._request(mvp, full=True)
            elif not self._fresh(self._interactive, mvp):
                self._request(mvp, full=False)
        return self._plan(mvp, view)

    def _plan(self, mvp: np.ndarray, view: int) -> FramePlan:
        if self._display_complete or self._preview_complete:
            return FramePlan(show=self._showing)  # the image shown is complete
        if self._fresh(self._full, mvp):
            return self._refine_step(view)
        inter = self._interactive if self._usable(self._interactive) else None
        scale = self.preview_scale
        if inter is not None and self._shown != (inter.serial, view):
            self._show(inter, view, "preview")
            self._preview_complete = scale == 1.0 and inter.complete and self._fresh(inter, mvp)
            return FramePlan(inter.rows, "preview", clear=True, scale=scale)
        if self._shown is None or self._shown[1] != view:
            self._show(None, view, "preview")  # nothing sorted for this model yet: clean image
            return FramePlan(None, "preview", clear=True, scale=scale)
        return FramePlan(show=self._showing)  # the image shown is current

    def _refine_step(self, view: int) -> FramePlan:
        full = self._full
        start = self._refine_at or 0
        end = min(len(full.ids), start + self.refine_budget)
        last = end >= len(full.ids)
        plan = FramePlan(tuple(t[start:end] for t in full.rows), "refine", clear=start == 0,
                         swap=last, show="display" if last else self._showing)
        if last:
            self._refine_at = None
            self._display_complete = True
            self._show(full, view, "display")
        else:
            self._refine_at = end
            self._redraw(0.0)
        return plan

    def _everything(self, mvp: np.ndarray, view: int) -> FramePlan:
        colours = self._colours(camera_position(mvp)) if self._colours else None
        dl = draw_list(self._xyz, mvp, self.total, self._crop)
        dl.rows = gathered(self._table, dl.ids, colours)
        self._show(dl, view, "display")
        self._display_complete = True
        return FramePlan(dl.rows, "refine", clear=True, swap=True, show="display")

    # -- sorting ---------------------------------------------------------------------------------
    def _request(self, mvp: np.ndarray, full: bool) -> None:
        xyz, table, crop, gen = self._xyz, self._table, self._crop, tuple(self._gen)
        limit = self.total if full else self.budget
        eye = camera_position(mvp)
        colour_fn = self._colours if full and self._colours_stale(mvp) else None
        mvp = mvp.copy()

        def job() -> tuple[DrawList, np.ndarray | None]:
            colours = colour_fn(eye) if colour_fn is not None else None
            dl = draw_list(xyz, mvp, limit, crop, generation=gen)
            dl.rows = gathered(table, dl.ids, colours)
            return dl, colours

        def done(result: tuple[DrawList, np.ndarray | None] | BaseException) -> None:
            self._pending = False
            if isinstance(result, BaseException):
                self.error = result  # the next frame asks again; the owner may show it
                return
            dl, colours = result
            self._serial += 1
            dl.serial = self._serial
            if dl.generation[0] == self._gen[0]:
                if colours is not None:  # later lists gather the new colours too
                    self._table[COLOUR[0]][:, COLOUR[1]] = colours
                    self._colour_eye = eye
                    self._display_complete = self._preview_complete = False  # new colours
                if full:
                    self._full = dl
                else:
                    self._interactive = dl
            self._redraw(0.0)

        self._pending, self._pending_since = True, self._clock()
        self._submit(job, done)

    def _colours_stale(self, mvp: np.ndarray) -> bool:
        """True when the model has view-dependent colours not yet evaluated for this eye."""
        return self._colours is not None and (
            self._colour_eye is None or not np.allclose(camera_position(mvp), self._colour_eye))

    def _fresh(self, dl: DrawList | None, mvp: np.ndarray) -> bool:
        """True when `dl` was sorted for this exact view, model, crop box and row content."""
        return (dl is not None and dl.generation == tuple(self._gen)
                and same_view(dl.mvp, mvp))

    def _usable(self, dl: DrawList | None) -> bool:
        """True when `dl` lists splats of the current model (possibly for another view)."""
        return dl is not None and dl.generation[0] == self._gen[0]

    def _show(self, dl: DrawList | None, view: int, target: str) -> None:
        self._serial += 1 if dl is None else 0
        self._shown = (self._serial if dl is None else dl.serial, view)
        self._shown_count = 0 if dl is None else len(dl.ids)
        self._showing = target

    def _invalidate(self, keep_image: bool = False) -> None:
        """Forget the complete image; `keep_image` shows the last one until new lists arrive."""
        self._display_complete = self._preview_complete = False
        self._refine_at = None
        self._full = None
        if not keep_image:
            self._shown = None
        self._redraw(0.0)
