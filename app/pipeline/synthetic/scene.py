"""The synthetic world: a terrain heightfield, a painted ground texture and gabled buildings.

Everything is in local ENU metres (x east, y north, z up) about the flight's origin, whose
ground height is 0. Rasters over the ground are `Grid`s; buildings are convex polyhedra
(intersections of half-spaces) so that a ray meets each in one closed-form test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .noise import fractal

ROOF_COLOURS = np.array([[168, 82, 60], [82, 86, 96], [112, 76, 56], [172, 170, 164],
                         [92, 120, 102], [148, 54, 46], [60, 62, 66]], np.float32)
WALL_COLOURS = np.array([[212, 200, 178], [226, 224, 218], [152, 92, 72], [160, 160, 156],
                         [196, 176, 140]], np.float32)


@dataclass
class Grid:
    """A raster over the ground: data[row, col] holds the value at (x0 + col*step, y0 + row*step)."""

    x0: float
    y0: float
    step: float
    data: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return self.data.shape[0], self.data.shape[1]

    def coords(self) -> tuple[np.ndarray, np.ndarray]:
        """World x of each column and y of each row."""
        rows, cols = self.shape
        return (self.x0 + self.step * np.arange(cols, dtype=np.float32),
                self.y0 + self.step * np.arange(rows, dtype=np.float32))

    def to_px(self, xy: np.ndarray) -> np.ndarray:
        """World (..., 2) metres -> fractional (col, row) pixel positions."""
        return (np.asarray(xy) - np.array([self.x0, self.y0])) / self.step

    def sample(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Bilinear lookup at world points (clamped at the edges); (N,) or (N, channels)."""
        rows, cols = self.shape
        fx = np.clip((x - np.float32(self.x0)) * np.float32(1.0 / self.step), 0, cols - 1.001)
        fy = np.clip((y - np.float32(self.y0)) * np.float32(1.0 / self.step), 0, rows - 1.001)
        ix, iy = fx.astype(np.int32), fy.astype(np.int32)
        ax, ay = (fx - ix).astype(np.float32), (fy - iy).astype(np.float32)
        flat = self.data.reshape(rows * cols, -1) if self.data.ndim == 3 else self.data.ravel()
        i00 = iy * cols + ix
        if self.data.ndim == 3:
            ax, ay = ax[:, None], ay[:, None]
        top = flat[i00] * (1 - ax) + flat[i00 + 1] * ax
        bottom = flat[i00 + cols] * (1 - ax) + flat[i00 + cols + 1] * ax
        return top * (1 - ay) + bottom * ay


@dataclass
class Building:
    """A box with a flat, gabled or hipped roof, as half-spaces n.p <= c (rows of `planes`)."""

    centre: np.ndarray  # (2,) ENU metres
    yaw: float  # radians, direction of the long axis from east, anticlockwise
    half_size: tuple[float, float]  # half length along the long axis, half width
    base_z: float
    eave_z: float
    ridge_z: float
    planes: np.ndarray  # (P, 4): unit normal (3) and offset c
    roof_colour: np.ndarray
    wall_colour: np.ndarray
    detail_offset: np.ndarray  # (2,) where this building's surfaces sit in the detail texture

    def corners(self) -> np.ndarray:
        """Footprint corners (4, 2), counter-clockwise."""
        u, v = self.axes()
        a, b = self.half_size
        return np.array([self.centre + su * a * u + sv * b * v
                         for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1))])

    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        """Unit vectors of the long (u) and short (v) axes in the ground plane."""
        u = np.array([math.cos(self.yaw), math.sin(self.yaw)])
        return u, np.array([-u[1], u[0]])

    def bounds(self) -> np.ndarray:
        """The 8 corners of its axis-aligned 3D bounding box."""
        lo, hi = self.corners().min(axis=0), self.corners().max(axis=0)
        return np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                         for z in (self.base_z, self.ridge_z)])


def make_building(rng: np.random.Generator, centre: np.ndarray, terrain: Grid) -> Building:
    """A random house or shed standing on the terrain at `centre`."""
    a, b = float(rng.uniform(5.0, 13.0)), float(rng.uniform(3.5, 7.5))
    yaw = float(rng.uniform(0.0, math.pi))
    u = np.array([math.cos(yaw), math.sin(yaw)])
    v = np.array([-u[1], u[0]])
    probe = centre + np.array([[su * a, sv * b] for su in (-1, 0, 1) for sv in (-1, 0, 1)]) @ \
        np.stack([u, v])
    ground = terrain.sample(probe[:, 0].astype(np.float32), probe[:, 1].astype(np.float32))
    base = float(ground.min()) - 1.0
    eave = float(ground.max()) + float(rng.uniform(3.5, 11.0))
    roof = rng.choice(["flat", "gable", "gable", "hip"])
    slope = math.tan(math.radians(rng.uniform(25.0, 42.0)))
    rise = 0.0 if roof == "flat" else slope * b
    cu, cv = float(u @ centre), float(v @ centre)
    planes = [[u[0], u[1], 0.0, a + cu], [-u[0], -u[1], 0.0, a - cu],
              [v[0], v[1], 0.0, b + cv], [-v[0], -v[1], 0.0, b - cv], [0.0, 0.0, -1.0, -base]]
    if roof == "flat":
        planes.append([0.0, 0.0, 1.0, eave])
    else:
        for s in (1.0, -1.0):
            planes.append([s * slope * v[0], s * slope * v[1], 1.0, eave + rise + s * slope * cv])
        if roof == "hip":
            for s in (1.0, -1.0):
                planes.append([s * slope * u[0], s * slope * u[1], 1.0,
                               eave + rise + slope * (a - b) + s * slope * cu])
    p = np.array(planes)
    p /= np.linalg.norm(p[:, :3], axis=1, keepdims=True)
    return Building(centre=np.asarray(centre, float), yaw=yaw, half_size=(a, b), base_z=base,
                    eave_z=eave, ridge_z=eave + rise, planes=p,
                    roof_colour=ROOF_COLOURS[rng.integers(len(ROOF_COLOURS))] *
                    rng.uniform(0.85, 1.1),
                    wall_colour=WALL_COLOURS[rng.integers(len(WALL_COLOURS))],
                    detail_offset=rng.uniform(20.0, 80.0, 2))


def place_buildings(rng: np.random.Generator, area: tuple[float, float, float, float],
                    terrain: Grid) -> list[Building]:
    """Villages and scattered farm buildings inside `area` (x0, y0, x1, y1), none overlapping."""
    x0, y0, x1, y1 = area
    count = max(4, int((x1 - x0) * (y1 - y0) / 1400.0))
    villages = rng.uniform([x0, y0], [x1, y1], (2, 2))
    buildings: list[Building] = []
    for _ in range(count * 20):
        if len(buildings) >= count:
            break
        if rng.random() < 0.6:
            centre = villages[rng.integers(2)] + rng.normal(0.0, 28.0, 2)
        else:
            centre = rng.uniform([x0, y0], [x1, y1])
        if not (x0 < centre[0] < x1 and y0 < centre[1] < y1):
            continue
        if any(np.hypot(*(centre - b.centre)) < 30.0 for b in buildings):
            continue
        buildings.append(make_building(rng, centre, terrain))
    return buildings


def make_terrain(rng: np.random.Generator, area: tuple[float, float, float, float],
                 step: float = 1.0) -> Grid:
    """Rolling relief (about +-8 m over a few hundred metres), 0 on average over `area`."""
    x0, y0, x1, y1 = area
    shape = (int((y1 - y0) / step) + 3, int((x1 - x0) / step) + 3)  # covers the texture
    octaves = [(180.0 / step, 14.0), (60.0 / step, 4.0), (20.0 / step, 1.2), (7.0 / step, 0.3)]
    height = fractal(rng, shape, octaves)
    height += np.float32(rng.uniform(-0.02, 0.02)) * np.arange(shape[1], dtype=np.float32) * step
    return Grid(x0, y0, step, height - height.mean())
