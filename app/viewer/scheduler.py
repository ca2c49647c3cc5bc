"""What each frame of the splat visual draws and when sorting happens (no OpenGL, no Qt).

While the camera moves a frame draws the budgeted subset (the most important visible splats,
as many as fit the frame-time budget) sorted for a recent view; sorts run through the injected
`submit`, one at a time, and the previous order is drawn meanwhile. A sort also gathers the
rows of the splats it lists, so the UI thread only uploads them. Once the camera has rested,
the whole visible model is sorted (and view-dependent colours evaluated) off the UI thread and
drawn into a second target in chunks of the same budget, one chunk per frame, then shown. The
budget follows the measured draw time, so a fast GPU draws everything every frame.
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

FRAME_BUDGET_S = 0.030  # splat drawing per frame; the rest of a 50 ms frame is for everything else
REST_S = 0.2  # the camera counts as resting after this long without a change
MIN_BUDGET = 2_000
FIRST_BUDGET = 20_000
PENDING_EXPIRY_S = 10.0  # a sort whose answer never came (its task was cancelled) stops blocking
COLOUR = 2, 2  # packed colours live in rows[2][:, 2]


def synchronous(fn: Callable[[], Any], done: Callable[[Any], None]) -> None:
    """A `Submit` that runs the job at once (offscreen renders and tests)."""
    try:
        result = fn()
    except Exception as exc:  # noqa: BLE001 - handed to `done`, as a pool's failure callback does
        result = exc
    done(result)


def camera_position(mvp: np.ndarray) -> np.ndarray:
    """The eye of a perspective clip matrix: where its x, y and w rows all vanish."""
    rows = mvp[[0, 1, 3]]
    return np.linalg.solve(rows[:, :3], -rows[:, 3])


@dataclass
class FramePlan:
    """One frame's work for the visual: draw `rows` (splats far to near) into `target`
    ("display": cleared and redrawn; "refine": accumulated), then show the display target.
    `swap`: the refine target is complete and becomes the display."""

    rows: Rows | None = None
    target: str = "display"
    clear: bool = False
    swap: bool = False

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
                 rest_s: float = REST_S, clock: Callable[[], float] = time.perf_counter) -> None:
        self._submit, self._redraw = submit, redraw
        self.frame_budget_s, self.rest_s, self._clock = frame_budget_s, rest_s, clock
        self.draw_everything = False  # one complete frame each time (offscreen renders)
        self._xyz = np.zeros((3, 0), np.float32)
        self._table: Rows | None = None
        self._colours: Colours | None = None
        self._crop: Crop = None
        self._gen = [0, 0, 0]  # model, crop box, row content: lists of older ones are stale
        self._cost: float | None = None  # seconds per splat, measured
        self._interactive: DrawList | None = None
        self._full: DrawList | None = None
        self._colour_eye: np.ndarray | None = None
        self._pending = False
        self._pending_since = 0.0
        self.error: BaseException | None = None  # the last sort that failed
        self._view: tuple | None = None
        self._last_move = -np.inf
        self._shown: tuple[int, tuple] | None = None  # (serial of the list drawn, view) in display
        self._shown_count = 0
        self._serial = 0
        self._display_complete = False
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

    def measured(self, count: int, seconds: float) -> None:
        """The visual drew `count` splats in `seconds` (GPU work finished)."""
        if count < 500:
            return  # fixed costs dominate: says nothing about the cost per splat
        cost = seconds / count
        if self._cost is None or cost > self._cost:
            self._cost = cost  # slower frames shrink the budget at once (no stall repeats)
        else:
            self._cost = 0.5 * (self._cost + cost)  # faster ones grow it over a few frames

    # -- state -----------------------------------------------------------------------------------
    @property
    def total(self) -> int:
        """Splats in the model."""
        return self._xyz.shape[1]

    @property
    def budget(self) -> int:
        """Splats one frame may draw."""
        if self._cost is None:
            return min(self.total, FIRST_BUDGET) if self.total else FIRST_BUDGET
        return int(max(MIN_BUDGET, self.frame_budget_s / self._cost))

    @property
    def drawn(self) -> int:
        """Splats in the image on screen (for 'N drawn of M')."""
        return 0 if self._shown is None else self._shown_count

    @property
    def complete(self) -> bool:
        """True when the image on display holds every visible splat for the current view."""
        return self._display_complete and self._refine_at is None

    @property
    def refining(self) -> bool:
        """True while the whole model is being drawn in chunks."""
        return self._refine_at is not None

    # -- the frame -------------------------------------------------------------------------------
    def frame(self, mvp: np.ndarray, viewport: tuple[int, int]) -> FramePlan:
        """What to do this frame for the view `mvp` (world -> clip) on a `viewport` (pixels)."""
        view = (mvp.tobytes(), tuple(viewport))
        now = self._clock()
        if view != self._view:
            self._view, self._last_move = view, now
            self._refine_at = None
            self._display_complete = False
            if not self.draw_everything:
                self._redraw(self.rest_s)  # come back when the camera has rested
        if self._table is None:
            return FramePlan()
        if self.draw_everything:
            return self._everything(mvp, view)
        if self._pending and now - self._pending_since > PENDING_EXPIRY_S:
            self._pending = False
        if not self._pending:
            inter_done = self._fresh(self._interactive, mvp) and self._interactive.complete
            if now - self._last_move >= self.rest_s:
                if self._colours_stale(mvp) or not (
                        self._display_complete or inter_done or self._fresh(self._full, mvp)):
                    self._request(mvp, full=True)
            elif not self._fresh(self._interactive, mvp):
                self._request(mvp, full=False)
        return self._plan(mvp, view)

    def _plan(self, mvp: np.ndarray, view: tuple) -> FramePlan:
        if self._fresh(self._full, mvp) and not self._display_complete:
            return self._refine_step(view)
        inter = self._interactive if self._usable(self._interactive) else None
        if inter is not None and self._shown != (inter.serial, view) and \
                not self._display_complete:
            self._show(inter, view)
            self._display_complete = inter.complete and self._fresh(inter, mvp)
            return FramePlan(inter.rows, "display", clear=True)
        if self._shown is None or self._shown[1] != view:
            self._show(None, view)  # nothing sorted for this model yet: a clean image
            return FramePlan(None, "display", clear=True)
        return FramePlan()  # the image on display is current

    def _refine_step(self, view: tuple) -> FramePlan:
        full = self._full
        start = self._refine_at or 0
        end = min(len(full.ids), start + self.budget)
        last = end >= len(full.ids)
        plan = FramePlan(tuple(t[start:end] for t in full.rows), "refine", clear=start == 0,
                         swap=last)
        if last:
            self._refine_at = None
            self._display_complete = True
            self._show(full, view)
        else:
            self._refine_at = end
            self._redraw(0.0)
        return plan

    def _everything(self, mvp: np.ndarray, view: tuple) -> FramePlan:
        colours = self._colours(camera_position(mvp)) if self._colours else None
        dl = draw_list(self._xyz, mvp, self.total, self._crop)
        dl.rows = gathered(self._table, dl.ids, colours)
        self._show(dl, view)
        self._display_complete = True
        return FramePlan(dl.rows, "display", clear=True)

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
                    self._display_complete = False  # redrawn in the new colours
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
                and np.array_equal(dl.mvp, mvp))

    def _usable(self, dl: DrawList | None) -> bool:
        """True when `dl` lists splats of the current model (possibly for another view)."""
        return dl is not None and dl.generation[0] == self._gen[0]

    def _show(self, dl: DrawList | None, view: tuple) -> None:
        self._serial += 1 if dl is None else 0
        self._shown = (self._serial if dl is None else dl.serial, view)
        self._shown_count = 0 if dl is None else len(dl.ids)

    def _invalidate(self, keep_image: bool = False) -> None:
        """Forget the complete image; `keep_image` shows the last one until new lists arrive."""
        self._display_complete = False
        self._refine_at = None
        self._full = None
        if not keep_image:
            self._shown = None
        self._redraw(0.0)
