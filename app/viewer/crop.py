"""The crop box shared by the 3D view's handles and the export dialog (no Qt, no vispy).

Corners are in the project's ENU frame (the frame of train/splats.ply, cameras and the sparse
cloud). `export_crop` converts the box to what `ExportOptions.crop` expects.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

Listener = Callable[["CropBox"], None]


class CropBox:
    """An axis-aligned box (min and max corners, metres) that can be switched off; listeners
    hear every change."""

    def __init__(self, lo: Sequence[float] = (-1.0, -1.0, -1.0),
                 hi: Sequence[float] = (1.0, 1.0, 1.0), enabled: bool = False) -> None:
        self._lo, self._hi = np.zeros(3), np.zeros(3)
        self._enabled = bool(enabled)
        self._listeners: list[Listener] = []
        self._store(lo, hi)

    @property
    def lo(self) -> np.ndarray:
        """Minimum corner (x, y, z), a copy."""
        return self._lo.copy()

    @property
    def hi(self) -> np.ndarray:
        """Maximum corner (x, y, z), a copy."""
        return self._hi.copy()

    @property
    def enabled(self) -> bool:
        """True when the box crops (hides splats in the view, and crops an export)."""
        return self._enabled

    def set(self, lo: Sequence[float] | None = None, hi: Sequence[float] | None = None,
            enabled: bool | None = None) -> None:
        """Change any of the corners and the switch; corners are reordered so min <= max."""
        before = (self.lo, self.hi, self._enabled)
        self._store(self._lo if lo is None else lo, self._hi if hi is None else hi)
        if enabled is not None:
            self._enabled = bool(enabled)
        if not (np.array_equal(before[0], self._lo) and np.array_equal(before[1], self._hi)
                and before[2] == self._enabled):
            self._notify()

    def set_face(self, axis: int, side: int, value: float) -> None:
        """Move one face (side 0: the min face, 1: the max face) without crossing the other."""
        lo, hi = self.lo, self.hi
        if side == 0:
            lo[axis] = min(float(value), hi[axis])
        else:
            hi[axis] = max(float(value), lo[axis])
        self.set(lo, hi)

    def fit(self, lo: Sequence[float], hi: Sequence[float], margin: float = 0.05) -> None:
        """Enclose the box (lo, hi) with a margin (a fraction of its size)."""
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        pad = (hi - lo) * margin
        self.set(lo - pad, hi + pad)

    def contains(self, points: np.ndarray) -> np.ndarray:
        """True for (N, 3) points inside the box (whether or not it is enabled)."""
        return np.all((points >= self._lo) & (points <= self._hi), axis=1)

    def as_tuple(self) -> tuple[float, ...]:
        """(xmin, ymin, zmin, xmax, ymax, zmax)."""
        return tuple(float(v) for v in (*self._lo, *self._hi))

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(box)` on every change; returns the function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _store(self, lo: Sequence[float], hi: Sequence[float]) -> None:
        a, b = np.asarray(lo, float).reshape(3), np.asarray(hi, float).reshape(3)
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            raise ValueError(f"crop box corners must be finite, got {a} and {b}")
        self._lo, self._hi = np.minimum(a, b), np.maximum(a, b)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener(self)


def export_crop(box: CropBox, source_offset: Sequence[float] = (0.0, 0.0, 0.0)
                ) -> tuple[float, ...] | None:
    """`ExportOptions.crop` for this box: None when it is off, else the box in the frame of the
    file export reads (ENU = file position + `source_offset`; train/splats.ply has none, and
    export crops before it centres)."""
    if not box.enabled:
        return None
    offset = np.asarray(source_offset, float)
    return tuple(float(v) for v in (*(box.lo - offset), *(box.hi - offset)))
