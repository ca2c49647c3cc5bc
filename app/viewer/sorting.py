"""Which splats a frame draws, back to front: a pure function of the view, run off the UI thread.

The view is a 4x4 matrix mapping world points (column vectors) to OpenGL clip coordinates; the
depth of a point is its clip w (its distance along the viewing direction).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEAR = 0.01  # the rasterizer's near plane (gsplat's default), in world units
MARGIN = 2.0  # splat centres up to this many half-views outside the screen are kept
BLOCK = 1 << 16  # slots culled at a time


@dataclass
class DrawList:
    """Slot ids to draw, far to near, for one view."""

    ids: np.ndarray  # (M,) uint32
    mvp: np.ndarray  # the view it was sorted for
    limit: int  # the budget it was cut to
    visible: int  # how many splats passed the culling (M = min(visible, limit))
    generation: tuple[int, ...] = (0, 0, 0)  # the scheduler's data generation it belongs to
    serial: int = 0  # set by the scheduler when the list arrives
    rows: tuple[np.ndarray, ...] | None = None  # the listed splats' rows, gathered in order

    @property
    def complete(self) -> bool:
        """True when every visible splat is in the list."""
        return len(self.ids) >= self.visible


def sort_keys_16(depth: np.ndarray) -> np.ndarray:
    """Far-to-near order of depths by 16-bit keys and a stable (radix) sort: equal keys keep
    their slot order, so the most important splat of a 1/65536 depth bucket is drawn first."""
    if len(depth) == 0:
        return np.zeros(0, np.int64)
    lo, hi = float(depth.min()), float(depth.max())
    scale = 65535.0 / (hi - lo) if hi > lo else 0.0
    keys = (65535.0 - (depth - lo) * scale).astype(np.uint16)
    return np.argsort(keys, kind="stable")


def visible_mask(xyz: np.ndarray, mvp: np.ndarray,
                 crop: tuple[np.ndarray, np.ndarray] | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(mask, depth) of positions given as (3, N) rows: in front of the near plane, centre near
    the view, inside the crop box."""
    x, y, z = xyz
    rx, ry, rw = (mvp[i].astype(np.float32) for i in (0, 1, 3))
    depth = rw[0] * x + rw[1] * y + rw[2] * z + rw[3]
    reach = MARGIN * depth
    mask = depth > NEAR
    mask &= np.abs(rx[0] * x + rx[1] * y + rx[2] * z + rx[3]) < reach
    mask &= np.abs(ry[0] * x + ry[1] * y + ry[2] * z + ry[3]) < reach
    if crop is not None:
        for axis in range(3):
            mask &= (xyz[axis] >= crop[0][axis]) & (xyz[axis] <= crop[1][axis])
    return mask, depth


def draw_list(xyz: np.ndarray, mvp: np.ndarray, limit: int,
              crop: tuple[np.ndarray, np.ndarray] | None = None,
              generation: tuple[int, ...] = (0, 0, 0)) -> DrawList:
    """The first `limit` visible slots (the most important) of (3, N) positions, far to near.

    Slots are scanned in blocks from the most important on and the scan stops once `limit`
    were found, so a moving frame's budgeted sort reads a fraction of a big model; `visible`
    counts every visible splat only when the scan reached the end (else it is more than `limit`).
    """
    n = xyz.shape[1]
    block = max(BLOCK, 2 * limit)
    ids, depths, found, start = [], [], 0, 0
    while start < n and found < limit:
        mask, depth = visible_mask(xyz[:, start:start + block], mvp, crop)
        hit = np.flatnonzero(mask)
        ids.append(hit + start)
        depths.append(depth[hit])
        found += len(hit)
        start += block
    ids_all = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    depth_all = np.concatenate(depths) if depths else np.zeros(0, np.float32)
    visible = found if start >= n else max(found, limit + 1)
    ids_all, depth_all = ids_all[:limit], depth_all[:limit]
    order = sort_keys_16(depth_all)
    return DrawList(ids_all[order].astype(np.uint32), mvp.copy(), limit, visible, generation)
