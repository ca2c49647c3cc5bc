"""A tiny known scene for the training tests: Gaussians rendered into PINHOLE views, and the
matching COLMAP model (pycolmap) whose sparse points are the Gaussians' centres."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pycolmap
import torch
from PIL import Image

from app.pipeline.render.rasterize import rasterize_cpu


def look_at(center: np.ndarray, target: np.ndarray = np.zeros(3)) -> np.ndarray:
    """World-to-camera 4x4 (COLMAP: x right, y down, z forward) for a camera at `center`."""
    f = (target - center) / np.linalg.norm(target - center)
    r = np.cross(f, [0.0, 0.0, 1.0])
    r /= np.linalg.norm(r)
    d = np.cross(f, r)
    R = np.stack([r, d, f])
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = R, -R @ center
    return m


def make_scene(folder: Path, n_views: int = 8, n_points: int = 300, width: int = 64,
               height: int = 48, seed: int = 0) -> tuple[Path, Path]:
    """Write images/ and sparse/ (cameras, images, points3D .bin) under `folder`."""
    rng = np.random.default_rng(seed)
    means = np.concatenate([rng.uniform(-1.5, 1.5, (n_points, 2)),
                            rng.uniform(-0.3, 0.3, (n_points, 1))], 1)
    colors = rng.uniform(0.1, 0.9, (n_points, 3))
    gt = {"means": torch.tensor(means, dtype=torch.float32),
          "quats": torch.tensor(rng.normal(size=(n_points, 4)), dtype=torch.float32),
          "scales": torch.tensor(np.log(rng.uniform(0.08, 0.2, (n_points, 3))), dtype=torch.float32),
          "opacities": torch.full((n_points,), 3.0),
          "sh0": torch.tensor((colors - 0.5) / 0.28209479, dtype=torch.float32)[:, None],
          "shN": torch.zeros(n_points, 0, 3)}
    f = 0.9 * width
    K = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]])
    images, sparse = folder / "images", folder / "sparse"
    images.mkdir(parents=True, exist_ok=True)
    sparse.mkdir(parents=True, exist_ok=True)
    rec = pycolmap.Reconstruction()
    rec.add_camera_with_trivial_rig(pycolmap.Camera(
        model="PINHOLE", width=width, height=height, params=[f, f, width / 2, height / 2],
        camera_id=1))
    for i in range(n_views):
        a = 2 * np.pi * i / n_views
        viewmat = look_at(np.array([4 * np.cos(a), 4 * np.sin(a), 2.5]))
        with torch.no_grad():
            rgb, _, _ = rasterize_cpu(gt, torch.tensor(viewmat, dtype=torch.float32),
                                      torch.tensor(K, dtype=torch.float32), width, height, 0)
        name = f"view_{i:02d}.png"
        Image.fromarray((rgb[0].clamp(0, 1).numpy() * 255).astype(np.uint8)).save(images / name)
        image = pycolmap.Image(name=name, camera_id=1, image_id=i + 1)
        rec.add_image_with_trivial_frame(image, pycolmap.Rigid3d(viewmat[:3, :]))
    for xyz, rgb in zip(means + rng.normal(0, 0.02, means.shape), colors):
        rec.add_point3D(xyz, pycolmap.Track(), (rgb * 255).astype(np.uint8))
    rec.write_binary(str(sparse))
    return sparse, images


def edit_model(sparse: Path, extra_points: np.ndarray) -> None:
    """Append sparse points (grey) to a written model, e.g. outliers or NaN."""
    rec = pycolmap.Reconstruction(str(sparse))
    for xyz in extra_points:
        rec.add_point3D(np.asarray(xyz, np.float64), pycolmap.Track(), np.full(3, 128, np.uint8))
    rec.write_binary(str(sparse))


def quick_settings(**overrides) -> "TrainSettings":
    """Settings for a few-second CPU run on the tiny scene."""
    from app.pipeline.train.settings import TrainSettings

    base = dict(max_steps=40, min_points=20, eval_every_n_image=4, eval_every=20,
                metrics_every=10, checkpoint_every=20, checkpoint_every_s=0, preview_every=20,
                sh_degree=1)
    return TrainSettings(**{**base, **overrides})
