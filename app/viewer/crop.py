"""The crop box (TEAM contract 9): one Qt-free model shared by the 3D view's handles and the
export dialog's numeric fields, and its conversion to what export expects.

Corners are in the project's ENU frame (metres; x east, y north, z up), which is the frame of
train/splats.ply when SfM georegistered the model, and the model's own frame otherwise: in both
cases the frame of the splats that `ExportOptions.crop` is applied to.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

Listener = Callable[["CropBox"], None]
Vec3 = tuple[float, float, float]


class CropBox:
    """An axis-aligned box (`minimum`, `maximum` corners) that is `enabled` or not.

    Every change notifies the subscribers with the box itself; a change that would leave a
    corner non-finite or a minimum above its maximum raises ValueError and changes nothing.
    """

    def __init__(self, minimum: Sequence[float] = (-50.0, -50.0, -10.0),
                 maximum: Sequence[float] = (50.0, 50.0, 50.0), enabled: bool = False) -> None:
        self._min, self._max = _checked(minimum, maximum)
        self._enabled = bool(enabled)
        self._listeners: list[Listener] = []

    @property
    def minimum(self) -> Vec3:
        """The (x, y, z) corner with the smallest coordinates."""
        return self._min

    @property
    def maximum(self) -> Vec3:
        """The (x, y, z) corner with the largest coordinates."""
        return self._max

    @property
    def enabled(self) -> bool:
        """True when the box crops (export keeps only the splats inside it)."""
        return self._enabled

    def set(self, minimum: Sequence[float] | None = None, maximum: Sequence[float] | None = None,
            enabled: bool | None = None) -> None:
        """Change corners and/or `enabled`; subscribers hear of it once when anything changed."""
        lo, hi = _checked(self._min if minimum is None else minimum,
                          self._max if maximum is None else maximum)
        on = self._enabled if enabled is None else bool(enabled)
        if (lo, hi, on) == (self._min, self._max, self._enabled):
            return
        self._min, self._max, self._enabled = lo, hi, on
        for listener in list(self._listeners):
            listener(self)

    def set_axis(self, axis: int, low: float, high: float) -> None:
        """Change one axis's range (0 = x, 1 = y, 2 = z)."""
        lo, hi = list(self._min), list(self._max)
        lo[axis], hi[axis] = low, high
        self.set(lo, hi)

    def set_face(self, axis: int, side: int, value: float) -> None:
        """Move one face (side 0: the minimum's, 1: the maximum's), stopping at the other one
        (what dragging a handle in the 3D view does)."""
        lo, hi = list(self._min), list(self._max)
        if side == 0:
            lo[axis] = min(float(value), hi[axis])
        else:
            hi[axis] = max(float(value), lo[axis])
        self.set(lo, hi)

    def fit(self, low: Sequence[float], high: Sequence[float], margin: float = 0.0) -> None:
        """Place the box around the bounds `low`..`high`, widened by `margin` metres per side."""
        self.set([v - margin for v in low], [v + margin for v in high])

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(box)` after each change; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def contains(self, point: Sequence[float]) -> bool:
        """True when `point` lies inside the box (its faces included)."""
        return all(lo <= p <= hi for lo, p, hi in zip(self._min, point, self._max))

    def __repr__(self) -> str:
        return f"CropBox(minimum={self._min}, maximum={self._max}, enabled={self._enabled})"


def export_crop(box: CropBox) -> tuple[float, ...] | None:
    """`ExportOptions.crop` for this box: (xmin, ymin, zmin, xmax, ymax, zmax), None when off.

    Export crops train/splats.ply in its own frame, which is the project's ENU frame the box
    is drawn in, so the corners pass through unchanged.
    """
    return (*box.minimum, *box.maximum) if box.enabled else None


def corners(box: CropBox) -> tuple[Vec3, Vec3] | None:
    """(minimum, maximum) while the box crops, None when it is off (what the 3D view hides by)."""
    return (box.minimum, box.maximum) if box.enabled else None


def _checked(minimum: Sequence[float], maximum: Sequence[float]) -> tuple[Vec3, Vec3]:
    lo = tuple(float(v) for v in minimum)
    hi = tuple(float(v) for v in maximum)
    if len(lo) != 3 or len(hi) != 3:
        raise ValueError(f"a crop box corner has three coordinates, got {lo} and {hi}")
    if not all(math.isfinite(v) for v in lo + hi):
        raise ValueError(f"crop box corners must be finite numbers, got {lo} and {hi}")
    bad = [("xyz"[i]) for i in range(3) if lo[i] > hi[i]]
    if bad:
        raise ValueError(f"crop box minimum above its maximum on {', '.join(bad)}: {lo} > {hi}")
    return lo, hi  # type: ignore[return-value]
