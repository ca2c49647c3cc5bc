"""Paints the ground texture: fields, meadows, woods, roads, trees, clutter, shading, shadows.

The point is SIFT: plenty of high-frequency, non-repeating detail at every scale, in varied
colours, with no periodic pattern strong enough to make two places look alike.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter
from scipy.spatial import ConvexHull, cKDTree

from .noise import fractal, value_noise
from .scene import Building, Grid

# land-cover classes: base colour, how strong its crop rows are, whether it is wooded
LAND_COVER = [  # (name, rgb, stripe strength, tree density per m2)
    ("meadow", (96, 132, 62), 0.0, 0.004),
    ("wheat", (192, 172, 98), 0.12, 0.0),
    ("young crop", (112, 152, 72), 0.18, 0.0),
    ("ploughed", (128, 96, 70), 0.25, 0.0),
    ("wood", (52, 82, 42), 0.0, 0.06),
    ("scrub", (122, 120, 82), 0.0, 0.015),
    ("pasture", (132, 150, 80), 0.0, 0.002),
]
CELL_SIZE_M = 38.0
SHADOW = 140  # light level in shade, of 255: the sky still lights it


def sun_direction(rng: np.random.Generator) -> np.ndarray:
    """A unit vector towards the sun: afternoon azimuth, 40-60 degrees up."""
    az, el = math.radians(rng.uniform(110.0, 250.0)), math.radians(rng.uniform(40.0, 60.0))
    return np.array([math.cos(el) * math.sin(az), math.cos(el) * math.cos(az), math.sin(el)])


def paint_ground(rng: np.random.Generator, area: tuple[float, float, float, float], texel: float,
                 terrain: Grid, buildings: list[Building], sun: np.ndarray) -> Grid:
    """The ground's albedo with terrain shading and shadows baked in, as a uint8 RGB Grid."""
    x0, y0, x1, y1 = area
    grid = Grid(x0, y0, texel, np.zeros((int((y1 - y0) / texel) + 2,
                                         int((x1 - x0) / texel) + 2, 3), np.uint8))
    cover = _land_cover(rng, grid)
    rgb = _fields(rng, grid, cover)
    _roads(rng, grid, rgb)
    rgb *= _terrain_shading(grid, terrain, sun)[..., None]
    image = Image.fromarray(np.clip(rgb, 0, 255, out=rgb).astype(np.uint8))
    del rgb  # a 12 MP survey's texture is 1-3 GB of floats: free it before drawing
    light = Image.new("L", (grid.shape[1], grid.shape[0]), 255)  # 255 = in full sun
    _trees_and_clutter(rng, grid, cover, image, ImageDraw.Draw(light), sun)
    light = _building_shadows(grid, buildings, sun, light)
    grain = Image.fromarray(rng.integers(180, 256, (grid.shape[0], grid.shape[1]), dtype=np.uint8))
    image = ImageChops.multiply(image, ImageChops.multiply(light, grain).convert("RGB"))
    grid.data = np.asarray(image)
    return grid


def _land_cover(rng: np.random.Generator, grid: Grid) -> np.ndarray:
    """Class label per texel: warped Voronoi cells, like a patchwork of fields."""
    rows, cols = grid.shape
    step = 0.25  # labels are worked out at 0.25 m, then enlarged
    coarse = (int(rows * grid.step / step) + 1, int(cols * grid.step / step) + 1)
    xs = grid.x0 + step * np.arange(coarse[1])
    ys = grid.y0 + step * np.arange(coarse[0])
    wx = fractal(rng, coarse, [(40 / step, 14.0), (8 / step, 3.0)])
    wy = fractal(rng, coarse, [(40 / step, 14.0), (8 / step, 3.0)])
    pts = np.stack([(xs[None, :] + wx).ravel(), (ys[:, None] + wy).ravel()], axis=1)
    n_cells = max(4, int(np.ptp(xs) * np.ptp(ys) / CELL_SIZE_M**2 * 1.3))
    seeds = rng.uniform([xs[0] - 20, ys[0] - 20], [xs[-1] + 20, ys[-1] + 20], (n_cells, 2))
    cell = cKDTree(seeds).query(pts)[1].reshape(coarse).astype(np.int32)
    cell_class = rng.integers(0, len(LAND_COVER), n_cells)
    labels = cell_class[cell].astype(np.uint8) * 32 + (cell % 32).astype(np.uint8)
    big = Image.fromarray(labels).resize((cols, rows), Image.NEAREST)
    return np.asarray(big)


def _fields(rng: np.random.Generator, grid: Grid, cover: np.ndarray) -> np.ndarray:
    """Float RGB of the bare land: per-field colour, crop rows, and noise at every scale."""
    rows, cols = grid.shape
    n = len(LAND_COVER) * 32
    klass = np.arange(n) // 32
    base = np.array([LAND_COVER[k][1] for k in klass], np.float32)
    base *= (rng.uniform(0.8, 1.15, (n, 1)) * rng.uniform(0.94, 1.06, (n, 3))).astype(np.float32)
    stripe = np.array([LAND_COVER[k][2] for k in klass], np.float32) * rng.uniform(0.5, 1.2, n)
    angle = rng.uniform(0, math.pi, n)
    freq = (2 * math.pi / rng.uniform(1.2, 3.5, n)).astype(np.float32)
    xs, ys = grid.coords()
    px = 1.0 / grid.step
    # in place wherever it can be: these are full-size float arrays (memory, not speed)
    phase = fractal(rng, (rows, cols), [(30 * px, 6.0), (6 * px, 1.0)])
    phase += xs[None, :] * np.cos(angle)[cover].astype(np.float32)
    phase += ys[:, None] * np.sin(angle)[cover].astype(np.float32)
    phase *= freq[cover]
    shade = np.sin(phase, out=phase)
    shade *= stripe[cover].astype(np.float32)
    shade += np.float32(1.0)
    shade += fractal(rng, (rows, cols), [(3, 0.3), (10, 0.3), (4 * px, 0.3), (15 * px, 0.25)])
    rgb = base[cover]
    rgb *= shade[..., None]
    del shade, phase
    for channel in range(3):
        tint = value_noise(rng, (rows, cols), 25 * px)
        tint *= np.float32(0.2)
        tint += np.float32(1.0)
        rgb[..., channel] *= tint
    return rgb


def _roads(rng: np.random.Generator, grid: Grid, rgb: np.ndarray) -> None:
    """Asphalt roads and dirt tracks along wandering lines across the area, in place."""
    rows, cols = grid.shape
    mask = Image.new("L", (cols, rows), 0)
    draw = ImageDraw.Draw(mask)
    for value, width_m in [(255, 6.5), (255, 5.5), (128, 3.0), (128, 2.5)]:
        start, end = rng.uniform(0, 1, 2), rng.uniform(0, 1, 2)
        start[rng.integers(2)] = 0.0
        end[rng.integers(2)] = 1.0
        knots = np.linspace(start, end, 7) + rng.normal(0, 0.06, (7, 2))
        path = [(float(x * cols), float(y * rows)) for x, y in knots]
        draw.line(path, fill=value, width=max(2, int(width_m / grid.step)), joint="curve")
    road = np.asarray(mask)
    noise = 0.8 + 0.4 * value_noise(rng, (rows, cols), 2.0)
    for value, colour in [(255, (88, 88, 92)), (128, (150, 122, 90))]:
        sel = road == value
        rgb[sel] = np.asarray(colour, np.float32) * noise[sel][:, None]


def _terrain_shading(grid: Grid, terrain: Grid, sun: np.ndarray) -> np.ndarray:
    """Lambertian shading of the relief (ambient + direct), resampled to the texture."""
    gy, gx = np.gradient(terrain.data, terrain.step)
    normal = np.stack([-gx, -gy, np.ones_like(gx)], -1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    lambert = np.float32(0.55) + np.float32(0.5) * np.clip(normal @ sun.astype(np.float32), 0, 1)
    rows, cols = grid.shape
    scale = grid.step / terrain.step  # Pillow's box is in pixel edges: centres sit at +0.5
    left, top = terrain.to_px(np.array([grid.x0, grid.y0])) + 0.5 - 0.5 * scale
    box = (float(left), float(top), float(left + cols * scale), float(top + rows * scale))
    return np.asarray(Image.fromarray(lambert.astype(np.float32), "F")
                      .resize((cols, rows), Image.BILINEAR, box=box))


def _trees_and_clutter(rng: np.random.Generator, grid: Grid, cover: np.ndarray,
                       image: Image.Image, light: ImageDraw.ImageDraw, sun: np.ndarray) -> None:
    """Trees by land-cover density (shadows drawn on `light`), then rocks, bales and cars."""
    rows, cols = grid.shape
    draw = ImageDraw.Draw(image)
    area = rows * cols * grid.step**2
    density = np.array([c[3] for c in LAND_COVER])
    n = rng.poisson(area * density.max())
    pos = rng.uniform([0, 0], [cols - 1, rows - 1], (n, 2))
    klass = cover[pos[:, 1].astype(int), pos[:, 0].astype(int)] // 32
    keep = rng.random(n) < density[klass] / density.max()
    away = -sun[:2] / max(sun[2], 0.2) / grid.step  # shadow offset per metre of height
    for (c, r) in pos[keep]:
        radius = rng.uniform(1.0, 3.6) / grid.step
        height = rng.uniform(4.0, 14.0)
        sx, sy = c + away[0] * height * 0.6, r + away[1] * height * 0.6
        light.ellipse([sx - radius, sy - radius, sx + radius, sy + radius], fill=SHADOW)
        green = rng.uniform([30, 60, 20], [80, 115, 55]).astype(int)
        for lobe in range(3):  # an irregular crown: overlapping lobes, the sunny side lighter
            lc, lr = np.array([c, r]) + rng.normal(0.0, radius * 0.25, 2)
            lr_, shift = radius * rng.uniform(0.55, 0.8), radius * 0.3 * (lobe == 2)
            lc, lr = lc + sun[0] * shift, lr + sun[1] * shift
            fill = tuple(int(v) for v in np.minimum(green + 25 * lobe, 255))
            draw.ellipse([lc - lr_, lr - lr_, lc + lr_, lr + lr_], fill=fill)
    for _ in range(rng.poisson(area / 250.0)):
        c, r = rng.uniform(0, cols), rng.uniform(0, rows)
        w, h = rng.uniform(0.4, 2.2, 2) / grid.step
        colour = tuple(int(v) for v in rng.integers(20, 250, 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape([c - w / 2, r - h / 2, c + w / 2, r + h / 2], fill=colour)


def _building_shadows(grid: Grid, buildings: list[Building], sun: np.ndarray,
                      light: Image.Image) -> Image.Image:
    """`light` with the buildings' cast shadows and a soft darkening along their walls."""
    rows, cols = grid.shape
    ao = Image.new("L", (cols, rows), 0)
    draw, draw_ao = ImageDraw.Draw(light), ImageDraw.Draw(ao)
    for b in buildings:
        foot = b.corners()
        height = 0.5 * (b.eave_z + b.ridge_z) - (b.base_z + 1.0)
        cast = foot - sun[:2] / max(sun[2], 0.2) * height
        pts = np.vstack([foot, cast])
        hull = pts[ConvexHull(pts).vertices]
        draw.polygon([tuple(p) for p in grid.to_px(hull)], fill=SHADOW)
        draw_ao.polygon([tuple(p) for p in grid.to_px(foot)], fill=90)
    ao = ao.filter(ImageFilter.GaussianBlur(1.5 / grid.step))
    return ImageChops.subtract(light, ao)
