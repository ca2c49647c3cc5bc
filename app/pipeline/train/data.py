"""The SfM hand-off as training data: PINHOLE views (intrinsics, pose, photo) and sparse points.

Reads the COLMAP model with pycolmap and validates it before any training starts: camera models,
missing or mis-sized images, non-finite values, and sparse points that no camera sees.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InputError
from ..formats.colmap import points_arrays, read_reconstruction, registered_cameras

FIX_SFM = "rerun the SfM stage: it writes sfm/ again"


@dataclass
class View:
    """One registered image: intrinsics at training resolution, world-to-camera pose, pixels."""

    name: str
    K: np.ndarray  # (3, 3) float32, scaled to the training resolution
    viewmat: np.ndarray  # (4, 4) float32 world-to-camera (COLMAP convention)
    width: int
    height: int
    path: Path
    pixels: np.ndarray | None = None  # (H, W, 3) uint8 at training resolution, loaded on demand

    @property
    def center(self) -> np.ndarray:
        """Camera centre in world coordinates."""
        R, t = self.viewmat[:3, :3], self.viewmat[:3, 3]
        return -R.T @ t

    def image(self) -> np.ndarray:
        """The photo at training resolution (uint8 HxWx3), read once."""
        if self.pixels is None:
            with Image.open(self.path) as im:
                im = im.convert("RGB")
                if im.size != (self.width, self.height):
                    im = im.resize((self.width, self.height), Image.Resampling.LANCZOS)
                self.pixels = np.array(im, dtype=np.uint8)
        return self.pixels


@dataclass
class Scene:
    """Everything training reads from the hand-off."""

    views: list[View]
    points: np.ndarray  # (N, 3) float32
    colors: np.ndarray  # (N, 3) float32 in 0..1
    fingerprint: str  # identifies the model (cameras, poses, sparse points)
    dropped_points: int = 0  # sparse points no camera sees (removed)

    def scene_scale(self) -> float:
        """1.1 x the largest camera distance from the cameras' centroid (gsplat's convention)."""
        centers = np.stack([v.center for v in self.views])
        spread = float(np.linalg.norm(centers - centers.mean(0), axis=1).max())
        if spread < 1e-6:  # one camera, or all at one spot: use the points' extent instead
            spread = float(np.linalg.norm(self.points - self.points.mean(0), axis=1).max())
        return 1.1 * max(spread, 1e-6)

    def split(self, every_n: int) -> tuple[list[View], list[View]]:
        """(train, held-out): every Nth view by name is held out (none when N <= 1 is asked)."""
        if every_n <= 1 or len(self.views) < 2:
            return list(self.views), []
        test = [v for i, v in enumerate(self.views) if i % every_n == 0]
        train = [v for i, v in enumerate(self.views) if i % every_n != 0]
        return train, test


def load_scene(model_dir: Path, images_dir: Path, *, max_side: int = 0,
               min_points: int = 50) -> Scene:
    """Read and validate the undistorted COLMAP model and its images (long side <= max_side)."""
    model_dir, images_dir = Path(model_dir), Path(images_dir)
    rec = read_reconstruction(model_dir, hint=FIX_SFM)
    views = _read_views(rec, model_dir, images_dir, max_side)
    points, colors = _read_points(rec, model_dir)
    fp = _fingerprint(views, points)
    inside = _seen_by_any(points, views)
    dropped = int((~inside).sum())
    points, colors = points[inside], colors[inside]
    if len(points) < min_points:
        detail = f" ({dropped} more lie outside every camera's view)" if dropped else ""
        raise InputError(
            f"The SfM model in {model_dir} has only {len(points)} usable sparse points{detail}; "
            f"training needs at least {min_points}",
            hint="fly with more image overlap, or rerun SfM with more features; "
                 "train.min_points lowers the limit for tiny test scenes", path=model_dir)
    return Scene(views, points, colors, fp, dropped)


def _read_views(rec, model_dir: Path, images_dir: Path, max_side: int) -> list[View]:
    views, missing = [], []
    for cam in registered_cameras(rec):
        if cam.model not in ("PINHOLE", "SIMPLE_PINHOLE"):
            raise InputError(f"Camera of {cam.name} in {model_dir} is {cam.model}; "
                             "training needs undistorted PINHOLE images",
                             hint="hand over the undistorted model (sfm/undistorted/sparse)",
                             path=model_dir)
        path = images_dir / cam.name
        if not path.is_file():
            missing.append(cam.name)
            continue
        with Image.open(path) as im:
            size = im.size
        if size != (cam.width, cam.height):
            raise InputError(
                f"{path} is {size[0]}x{size[1]} but its camera in the SfM model is "
                f"{cam.width}x{cam.height}", hint="the images folder does not belong to this "
                "model (or was resized); " + FIX_SFM, path=path)
        K = cam.K.copy()
        if not (np.isfinite(cam.viewmat).all() and np.isfinite(K).all()):
            raise InputError(f"The pose or intrinsics of {cam.name} in {model_dir} are not "
                             "finite (NaN/inf)", hint=FIX_SFM, path=model_dir)
        s = min(1.0, max_side / max(size)) if max_side > 0 else 1.0
        w, h = max(1, round(cam.width * s)), max(1, round(cam.height * s))
        K[0, :] *= w / cam.width
        K[1, :] *= h / cam.height
        views.append(View(cam.name, K.astype(np.float32), cam.viewmat.astype(np.float32), w, h,
                          path))
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise InputError(f"{len(missing)} image(s) of the SfM model are missing from {images_dir}: "
                         f"{shown}", hint=FIX_SFM, path=images_dir)
    if not views:
        raise InputError(f"The SfM model in {model_dir} has no registered images",
                         hint=FIX_SFM, path=model_dir)
    return views


def _read_points(rec, model_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    xyz, rgb = points_arrays(rec)
    if not np.isfinite(xyz).all():
        bad = int((~np.isfinite(xyz).all(1)).sum())
        raise InputError(f"{bad} sparse point(s) in {model_dir} have non-finite coordinates",
                         hint=FIX_SFM, path=model_dir)
    return xyz.astype(np.float32), rgb


def _seen_by_any(points: np.ndarray, views: list[View]) -> np.ndarray:
    """True for points in front of and inside the image of at least one camera."""
    seen = np.zeros(len(points), dtype=bool)
    for v in views:
        cam = points @ v.viewmat[:3, :3].T + v.viewmat[:3, 3]
        z = cam[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = (cam @ v.K.T)[:, :2] / z[:, None]
        seen |= ((z > 1e-6) & (uv[:, 0] >= 0) & (uv[:, 0] < v.width)
                 & (uv[:, 1] >= 0) & (uv[:, 1] < v.height))
    return seen


def _fingerprint(views: list[View], points: np.ndarray) -> str:
    h = hashlib.sha256(np.round(points, 3).tobytes())
    for v in views:
        h.update(v.name.encode())
        h.update(np.round(v.viewmat, 4).tobytes())
        h.update(np.round(v.K / max(v.width, 1), 5).tobytes())
    return h.hexdigest()[:16]
