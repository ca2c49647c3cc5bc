"""What the 3D view draws besides splats, as plain arrays: sparse points and camera frusta."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.pipeline.formats.colmap import CameraPose, SparseModel


@dataclass
class PointCloud:
    """Points with RGBA colours in 0..1."""

    xyz: np.ndarray  # (N, 3) float32
    rgba: np.ndarray  # (N, 4) float32

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
    cameras: list[CameraPose]

    @property
    def centers(self) -> np.ndarray:
        """(M, 3) camera centres."""
        return np.array([c.center for c in self.cameras], np.float32).reshape(-1, 3)


def sparse_scene(model: SparseModel, frustum_scale: float = 0.06) -> SparseScene:
    """Points in their colours and frusta sized to a fraction of the scene."""
    rgba = np.concatenate([model.rgb, np.ones((len(model.rgb), 1), np.float32)], axis=1)
    cloud = PointCloud(model.xyz.astype(np.float32), rgba.astype(np.float32))
    lo, hi = cloud.bounds()
    depth = frustum_scale * float(np.linalg.norm(hi - lo) or 1.0)
    segments = [frustum_segments(cam, depth) for cam in model.cameras]
    frusta = np.concatenate(segments).astype(np.float32) if segments else \
        np.zeros((0, 3), np.float32)
    return SparseScene(cloud, frusta, model.cameras)


def frustum_segments(cam: CameraPose, depth: float) -> np.ndarray:
    """8 line segments: apex to each image corner at `depth`, and the image rectangle."""
    corners_px = np.array([[0, 0, 1], [cam.width, 0, 1], [cam.width, cam.height, 1],
                           [0, cam.height, 1]], dtype=np.float64)
    rays = np.linalg.solve(cam.K, corners_px.T).T * depth
    R = cam.viewmat[:3, :3]
    center = cam.center
    world = rays @ R + center  # x_world = R^T x_cam + centre
    segs = []
    for i in range(4):
        segs += [center, world[i], world[i], world[(i + 1) % 4]]
    return np.array(segs)
