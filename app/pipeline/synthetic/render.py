"""Ray casting of the synthetic scene through a PINHOLE camera, with occlusion.

Hand-written in numpy because no installed library renders a textured scene headless without
OpenGL. The terrain is met by fixed-point iteration on the heightfield (it converges because
slopes times the ray's tilt stay well below 1); each building is a convex polyhedron met in
closed form; the nearest hit along each ray wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .plan import Camera
from .scene import Building
from .world import World

TERRAIN_ITERATIONS = 6
AMBIENT, DIRECT = 0.5, 0.55


@dataclass
class Hits:
    """Where each ray of an image met the world."""

    points: np.ndarray  # (H, W, 3) ENU metres
    building: np.ndarray  # (H, W) building index or -1 for the ground
    plane: np.ndarray  # (H, W) index of the building face met, -1 for the ground


def pixel_rays(camera: Camera, R: np.ndarray) -> np.ndarray:
    """World directions (H, W, 3) of rays through pixel centres; z component is the depth scale."""
    u = (np.arange(camera.width, dtype=np.float32) + 0.5 - camera.cx) / camera.fx
    v = (np.arange(camera.height, dtype=np.float32) + 0.5 - camera.cy) / camera.fy
    d_cam = np.stack(np.broadcast_arrays(u[None, :], v[:, None], np.float32(1.0)), -1)
    return d_cam @ R.astype(np.float32)


def cast(world: World, camera: Camera, R: np.ndarray, centre: np.ndarray) -> Hits:
    """Intersect every pixel's ray with the terrain and the buildings."""
    dirs = pixel_rays(camera, R)
    o = centre.astype(np.float32)
    dz = np.minimum(dirs[..., 2], np.float32(-1e-3))
    t = (np.float32(np.mean(world.terrain.data)) - o[2]) / dz
    for _ in range(TERRAIN_ITERATIONS):
        h = world.terrain.sample((o[0] + t * dirs[..., 0]).ravel(),
                                 (o[1] + t * dirs[..., 1]).ravel()).reshape(t.shape)
        t = (h - o[2]) / dz
    building = np.full(t.shape, -1, np.int32)
    plane = np.full(t.shape, -1, np.int32)
    for index, b in enumerate(world.buildings):
        window = _screen_box(b, camera, R, centre)
        if window is None:
            continue
        rs, cs = window
        tb, face = _hit_convex(b.planes, o, dirs[rs, cs])
        closer = tb < t[rs, cs]
        t[rs, cs] = np.where(closer, tb, t[rs, cs])
        building[rs, cs] = np.where(closer, index, building[rs, cs])
        plane[rs, cs] = np.where(closer, face, plane[rs, cs])
    return Hits(o + t[..., None] * dirs, building, plane)


def _screen_box(b: Building, camera: Camera, R: np.ndarray, centre: np.ndarray
                ) -> tuple[slice, slice] | None:
    """The pixel rows and columns a building's bounding box can cover, or None if off-screen."""
    cam = (b.bounds() - centre) @ R.T
    if np.any(cam[:, 2] <= 0.1):
        return None
    u = camera.fx * cam[:, 0] / cam[:, 2] + camera.cx
    v = camera.fy * cam[:, 1] / cam[:, 2] + camera.cy
    c0, c1 = max(int(u.min()) - 1, 0), min(int(u.max()) + 2, camera.width)
    r0, r1 = max(int(v.min()) - 1, 0), min(int(v.max()) + 2, camera.height)
    if c0 >= c1 or r0 >= r1:
        return None
    return slice(r0, r1), slice(c0, c1)


def _hit_convex(planes: np.ndarray, o: np.ndarray, dirs: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Ray entry distance into the polyhedron {n.p <= c} (inf on a miss) and the face entered."""
    n = planes[:, :3].astype(np.float32)
    c = planes[:, 3].astype(np.float32)
    denom = dirs @ n.T  # (..., P)
    slack = c - n @ o  # > 0 where the origin is inside that half-space
    with np.errstate(divide="ignore", invalid="ignore"):
        t = slack / denom
    entering = denom < 0
    t_in = np.where(entering, t, -np.inf)
    t_out = np.where(denom > 0, t, np.inf)
    parallel_out = (denom == 0) & (slack < 0)
    enter = t_in.max(axis=-1)
    leave = t_out.min(axis=-1)
    hit = (enter <= leave) & (enter > 0) & ~parallel_out.any(axis=-1)
    return np.where(hit, enter, np.inf).astype(np.float32), t_in.argmax(axis=-1).astype(np.int32)


def shade(world: World, hits: Hits) -> np.ndarray:
    """Colour every hit: the ground's baked texture, or a lit, textured building face."""
    pts = hits.points.reshape(-1, 3)
    rgb = world.ground.sample(pts[:, 0], pts[:, 1]).astype(np.float32)
    flat_b, flat_p = hits.building.ravel(), hits.plane.ravel()
    for index in np.unique(flat_b[flat_b >= 0]):
        b = world.buildings[index]
        sel = np.nonzero(flat_b == index)[0]
        face = flat_p[sel]
        normal = b.planes[face, :3].astype(np.float32)
        u_axis, v_axis = b.axes()
        p = pts[sel]
        rel = p[:, :2] - b.centre.astype(np.float32)
        lu, lv = rel @ u_axis.astype(np.float32), rel @ v_axis.astype(np.float32)
        roof = normal[:, 2] > 0.1
        along_u = np.abs(normal[:, :2] @ u_axis.astype(np.float32)) > 0.5
        s = np.where(roof | ~along_u, lu, lv)
        r = np.where(roof, lv, p[:, 2] - np.float32(b.base_z))
        detail = world.detail.sample(s + np.float32(b.detail_offset[0]),
                                     r + np.float32(b.detail_offset[1]))
        albedo = np.where(roof[:, None], b.roof_colour, b.wall_colour).astype(np.float32)
        light = AMBIENT + DIRECT * np.clip(normal @ world.sun.astype(np.float32), 0, 1)
        rgb[sel] = albedo * ((0.7 + 0.6 * detail) * light)[:, None]
    return np.clip(rgb, 0, 255).astype(np.uint8).reshape(hits.points.shape)
