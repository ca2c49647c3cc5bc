"""Builds the whole synthetic world for a flight plan: terrain, buildings, ground, detail, sun."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ground import paint_ground, sun_direction
from .noise import fractal
from .plan import FlightPlan
from .scene import Building, Grid, make_terrain, place_buildings

LOWEST_GROUND_M = -25.0  # no terrain lies below this (ENU z); sizes the area the photos can see
MARGIN_M = 5.0
DETAIL_TEXEL_M = 0.08
DETAIL_SIZE_M = 120.0


@dataclass
class World:
    """What the renderer needs: terrain heights, the ground's albedo, buildings, detail, sun."""

    terrain: Grid
    ground: Grid
    buildings: list[Building]
    detail: Grid  # grey noise in about [0, 1] wrapped over roofs and walls
    sun: np.ndarray
    area: tuple[float, float, float, float]  # x0, y0, x1, y1 ENU metres


def visible_area(plan: FlightPlan, lowest_z: float = LOWEST_GROUND_M
                 ) -> tuple[float, float, float, float]:
    """Bounding box (x0, y0, x1, y1) of everything any photo can see, plus a margin."""
    cam = plan.camera
    corners = np.array([[0, 0], [cam.width, 0], [0, cam.height], [cam.width, cam.height]], float)
    rays = np.column_stack([(corners[:, 0] - cam.cx) / cam.fx, (corners[:, 1] - cam.cy) / cam.fy,
                            np.ones(4)])
    seen = []
    for shot in plan.shots:
        d = rays @ shot.R
        t = (lowest_z - shot.position[2]) / d[:, 2]
        seen.append(shot.position[:2] + t[:, None] * d[:, :2])
    pts = np.vstack(seen)
    lo, hi = pts.min(axis=0) - MARGIN_M, pts.max(axis=0) + MARGIN_M
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def build_world(plan: FlightPlan, rng: np.random.Generator) -> World:
    """Terrain, buildings and painted ground covering everything the plan's photos see."""
    area = visible_area(plan)
    texel = plan.agl_m / plan.camera.fx  # one ground texel per pixel at the nominal height
    terrain = make_terrain(rng, area, step=max(1.0, 1.5 * texel))  # coarser than the texture
    x0, y0, x1, y1 = area
    inner = (x0 + 15.0, y0 + 15.0, x1 - 15.0, y1 - 15.0)
    buildings = place_buildings(rng, inner, terrain)
    sun = sun_direction(rng)
    ground = paint_ground(rng, area, texel, terrain, buildings, sun)
    n = int(DETAIL_SIZE_M / DETAIL_TEXEL_M)
    px = 1.0 / DETAIL_TEXEL_M
    detail = fractal(rng, (n, n), [(1, 0.5), (3, 0.4), (0.5 * px, 0.4), (2 * px, 0.3)]) + 0.5
    return World(terrain, ground, buildings, Grid(0.0, 0.0, DETAIL_TEXEL_M, detail), sun, area)
