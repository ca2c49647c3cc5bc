"""What the 3D view draws, as plain arrays: loaded from a COLMAP model or a 3DGS PLY.

No vispy here, so loading is testable without an OpenGL context.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.pipeline.formats.ply import read_ply
from app.pipeline.formats.splats import SH_C0


@dataclass
class PointCloud:
    """Points with RGBA colours in 0..1 and a size per point (world units)."""

    xyz: np.ndarray  # (N, 3) float32
    rgba: np.ndarray  # (N, 4) float32
    size: np.ndarray  # (N,) float32

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Robust (1st..99th percentile) lower and upper corners, ignoring stray points."""
        if len(self.xyz) == 0:
            return np.zeros(3), np.ones(3)
        return np.percentile(self.xyz, 1, axis=0), np.percentile(self.xyz, 99, axis=0)


@dataclass
class SparseScene:
    """A sparse SfM model: its points and, per registered image, a frustum as line segments."""

    points: PointCloud
    frusta: np.ndarray  # (M*16, 3) float32: 8 segments (start, end) per camera
    centers: np.ndarray  # (M, 3) camera centres


def load_sparse(model_dir: Path, frustum_scale: float = 0.06) -> SparseScene:
    """Read a COLMAP model folder with pycolmap; frusta are sized to a fraction of the scene."""
    import pycolmap

    rec = pycolmap.Reconstruction(str(model_dir))
    pts = list(rec.points3D.values())
    xyz = np.array([p.xyz for p in pts], dtype=np.float32).reshape(-1, 3)
    rgb = np.array([p.color for p in pts], dtype=np.float32).reshape(-1, 3) / 255.0
    rgba = np.concatenate([rgb, np.ones((len(rgb), 1), np.float32)], axis=1)
    cloud = PointCloud(xyz, rgba, np.full(len(xyz), 1.0, np.float32))
    lo, hi = cloud.bounds()
    depth = frustum_scale * float(np.linalg.norm(hi - lo) or 1.0)
    segments, centers = [], []
    for image in rec.images.values():
        if not image.has_pose:
            continue
        pose = image.cam_from_world()
        rot, t = pose.rotation.matrix(), np.asarray(pose.translation)
        cam = image.camera
        corners_px = np.array([[0, 0], [cam.width, 0], [cam.width, cam.height], [0, cam.height]],
                              dtype=np.float64)
        rays = np.concatenate([cam.cam_from_img(corners_px), np.ones((4, 1))], axis=1) * depth
        world = (rays - t) @ rot  # x_world = R^T (x_cam - t)
        center = -rot.T @ t
        segments.append(_frustum_segments(center, world))
        centers.append(center)
    frusta = np.concatenate(segments).astype(np.float32) if segments else np.zeros((0, 3), np.float32)
    return SparseScene(cloud, frusta, np.array(centers, dtype=np.float32).reshape(-1, 3))


def _frustum_segments(center: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """8 line segments: apex to each corner, and the image rectangle."""
    segs = []
    for i in range(4):
        segs += [center, corners[i], corners[i], corners[(i + 1) % 4]]
    return np.array(segs)


def load_splats(ply: Path, max_points: int = 200_000, seed: int = 0) -> PointCloud:
    """Read a 3DGS PLY as coloured points (DC colour, sigmoid opacity, mean scale), subsampled."""
    splats = read_ply(ply)
    if len(splats) > max_points:
        rng = np.random.default_rng(seed)
        splats = splats.subset(np.sort(rng.choice(len(splats), max_points, replace=False)))
    rgb = np.clip(0.5 + SH_C0 * splats.sh0, 0.0, 1.0)
    alpha = 1.0 / (1.0 + np.exp(-splats.opacities.astype(np.float64)))
    size = 2.0 * np.exp(splats.scales.astype(np.float64)).mean(axis=1)  # ~ the 1-sigma diameter
    rgba = np.concatenate([rgb, alpha[:, None]], axis=1).astype(np.float32)
    return PointCloud(splats.means.astype(np.float32), rgba, size.astype(np.float32))
