"""A COLMAP model as arrays: registered cameras (pose, intrinsics) and sparse points (pycolmap)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError

MODEL_FILES = ("cameras.bin", "images.bin", "points3D.bin")


@dataclass
class CameraPose:
    """One registered image: world-to-camera pose (COLMAP/OpenCV axes) and pinhole intrinsics."""

    name: str
    K: np.ndarray  # (3, 3) float64 calibration matrix at the model's resolution
    viewmat: np.ndarray  # (4, 4) float64 world-to-camera
    width: int
    height: int
    model: str  # the COLMAP camera model name (PINHOLE for the undistorted hand-off)

    @property
    def center(self) -> np.ndarray:
        """Camera centre in world coordinates."""
        return -self.viewmat[:3, :3].T @ self.viewmat[:3, 3]


def read_reconstruction(model_dir: Path, hint: str):
    """The pycolmap Reconstruction of a model folder; InputError (with `hint`) when missing or
    unreadable."""
    import pycolmap

    model_dir = Path(model_dir)
    missing = [f for f in MODEL_FILES if not (model_dir / f).is_file()]
    if missing:
        raise InputError(f"The SfM model in {model_dir} lacks {', '.join(missing)}", hint=hint,
                         path=model_dir)
    try:
        return pycolmap.Reconstruction(str(model_dir))
    except Exception as exc:  # pycolmap raises plain RuntimeErrors on corrupt files
        raise InputError(f"The SfM model in {model_dir} is unreadable: {exc}", hint=hint,
                         path=model_dir) from exc


def points_arrays(rec) -> tuple[np.ndarray, np.ndarray]:
    """Sparse points: (N, 3) float64 positions and (N, 3) float32 colours in 0..1."""
    pts = list(rec.points3D.values())
    xyz = np.array([p.xyz for p in pts], dtype=np.float64).reshape(-1, 3)
    rgb = np.array([p.color for p in pts], dtype=np.float32).reshape(-1, 3) / 255.0
    return xyz, rgb


def registered_cameras(rec) -> list[CameraPose]:
    """Every image with a pose, sorted by name."""
    out = []
    for image in sorted(rec.images.values(), key=lambda im: im.name):
        if not image.has_pose:
            continue
        cam = rec.cameras[image.camera_id]
        viewmat = np.eye(4)
        viewmat[:3, :] = np.asarray(image.cam_from_world().matrix(), dtype=np.float64)
        out.append(CameraPose(image.name, np.asarray(cam.calibration_matrix(), dtype=np.float64),
                              viewmat, int(cam.width), int(cam.height), cam.model_name))
    return out


@dataclass
class SparseModel:
    """A model's sparse points and registered cameras, as arrays."""

    xyz: np.ndarray  # (N, 3) float64
    rgb: np.ndarray  # (N, 3) float32 in 0..1
    cameras: list[CameraPose]


def read_sparse_model(model_dir: Path) -> SparseModel:
    """Points and cameras of a COLMAP model folder (InputError when missing or unreadable)."""
    rec = read_reconstruction(model_dir, hint="rerun the sfm stage")
    xyz, rgb = points_arrays(rec)
    return SparseModel(xyz, rgb, registered_cameras(rec))


def camera_named(cameras: list[CameraPose], name: str) -> CameraPose:
    """The registered camera of image `name`; InputError listing some names when absent."""
    for cam in cameras:
        if cam.name == name:
            return cam
    shown = ", ".join(c.name for c in cameras[:5]) + (" ..." if len(cameras) > 5 else "")
    raise InputError(f"{name} is not a registered image of the SfM model",
                     hint=f"choose one of the {len(cameras)} registered images: {shown}")
