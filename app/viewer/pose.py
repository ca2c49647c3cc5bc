"""Pinhole camera maths for the viewer: poses in COLMAP/OpenCV axes (x right, y down, z forward),
OpenGL projection from intrinsics, and the orbit / pan / zoom / fly moves (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

UP = np.array([0.0, 0.0, 1.0])  # ENU: z is up


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray = UP) -> np.ndarray:
    """World-to-camera rotation (rows: right, down, forward) of a camera at `eye` facing
    `target`."""
    forward = np.asarray(target, float) - np.asarray(eye, float)
    forward /= np.linalg.norm(forward) or 1.0
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-9:  # looking straight up or down: any right will do
        right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward])


def rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation matrix of `angle` radians about `axis` (Rodrigues)."""
    axis = np.asarray(axis, float) / (np.linalg.norm(axis) or 1.0)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def projection(K: np.ndarray, width: int, height: int, near: float, far: float) -> np.ndarray:
    """OpenGL clip matrix of pinhole intrinsics: pixel (u, v) (v down) -> NDC, depth z -> clip w."""
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    return np.array([
        [2 * fx / width, 0, 2 * cx / width - 1, 0],
        [0, -2 * fy / height, 1 - 2 * cy / height, 0],
        [0, 0, (far + near) / (far - near), -2 * far * near / (far - near)],
        [0, 0, 1, 0]])


def fitted_pose(points: np.ndarray, direction: np.ndarray, tan_x: float, tan_y: float) -> Pose:
    """A pose looking along -`direction` at the middle of `points`, as close as it can be with
    every point inside the half-angle tangents `tan_x` (across) and `tan_y` (down)."""
    pts = np.asarray(points, float).reshape(-1, 3)
    centre = (pts.min(axis=0) + pts.max(axis=0)) / 2
    R = look_at(centre + np.asarray(direction, float), centre)
    x, y, z = ((pts - centre) @ R.T).T  # camera axes: right, down, forward
    shift = np.zeros(2)
    for _ in range(4):  # perspective draws the near side larger: centre what is seen, not the box
        d = _distance(x - shift[0], y - shift[1], z, tan_x, tan_y)
        u, v = (x - shift[0]) / (z + d), (y - shift[1]) / (z + d)
        shift += 0.5 * np.array([u.max() + u.min(), v.max() + v.min()]) * d
    d = _distance(x - shift[0], y - shift[1], z, tan_x, tan_y)
    centre = centre + R[0] * shift[0] + R[1] * shift[1]
    return Pose(R, centre - R[2] * d, centre)


def _distance(x: np.ndarray, y: np.ndarray, z: np.ndarray, tan_x: float, tan_y: float) -> float:
    # a point at camera depth z + d lies in view when |x| <= tan_x (z + d), likewise for y
    return max(float(np.max(np.abs(x) / tan_x - z)), float(np.max(np.abs(y) / tan_y - z)),
               float(np.max(-z)) + 1e-6, 1e-6)


def fit_intrinsics(K: np.ndarray, size: tuple[int, int], viewport: tuple[int, int]) -> np.ndarray:
    """`K` of an image of `size` (w, h) scaled and centred to fit whole in `viewport` (w, h)."""
    s = min(viewport[0] / size[0], viewport[1] / size[1])
    out = K.astype(float) * s
    out[2, 2] = 1.0
    out[0, 2] += (viewport[0] - s * size[0]) / 2
    out[1, 2] += (viewport[1] - s * size[1]) / 2
    return out


@dataclass
class Pose:
    """Where the camera is, where it looks, and the point it orbits about."""

    R: np.ndarray = field(default_factory=lambda: np.eye(3))  # world -> camera rotation
    eye: np.ndarray = field(default_factory=lambda: np.zeros(3))
    pivot: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.0, -1.0]))

    @classmethod
    def looking_at(cls, eye: np.ndarray, target: np.ndarray) -> "Pose":
        """A pose at `eye` facing (and orbiting about) `target`."""
        return cls(look_at(eye, target), np.asarray(eye, float), np.asarray(target, float))

    @classmethod
    def from_viewmat(cls, viewmat: np.ndarray, distance: float) -> "Pose":
        """A world-to-camera matrix as a pose orbiting a point `distance` ahead."""
        R, t = viewmat[:3, :3], viewmat[:3, 3]
        eye = -R.T @ t
        return cls(R.copy(), eye, eye + R[2] * distance)

    def copy(self) -> Pose:
        """An independent copy (the moves change a pose in place)."""
        return Pose(self.R.copy(), self.eye.copy(), self.pivot.copy())

    @property
    def viewmat(self) -> np.ndarray:
        """4x4 world-to-camera matrix."""
        out = np.eye(4)
        out[:3, :3], out[:3, 3] = self.R, -self.R @ self.eye
        return out

    @property
    def distance(self) -> float:
        """Distance from the eye to the pivot."""
        return float(np.linalg.norm(self.pivot - self.eye))

    def orbit(self, azimuth: float, elevation: float) -> None:
        """Turn about the pivot: `azimuth` radians about the vertical, `elevation` about the
        camera's right axis (stopping short of the poles)."""
        forward = self.R[2]
        tilt = np.arcsin(np.clip(-forward[2], -1, 1))  # > 0 when looking down
        elevation = float(np.clip(tilt + elevation, np.radians(-89), np.radians(89)) - tilt)
        turn = rotation(UP, azimuth) @ rotation(self.R[0], -elevation)
        self.eye = self.pivot + turn @ (self.eye - self.pivot)
        self.R = self.R @ turn.T

    def pan(self, dx: float, dy: float) -> None:
        """Slide eye and pivot by (dx, dy) world units along the camera's right and down axes."""
        shift = self.R[0] * dx + self.R[1] * dy
        self.eye, self.pivot = self.eye + shift, self.pivot + shift

    def zoom(self, factor: float) -> None:
        """Move toward the pivot, to `factor` times the distance."""
        self.eye = self.pivot + (self.eye - self.pivot) * factor

    def fly(self, forward: float, right: float, up: float) -> None:
        """Move eye and pivot together along the camera's forward and right axes and world up."""
        shift = self.R[2] * forward + self.R[0] * right + UP * up
        self.eye, self.pivot = self.eye + shift, self.pivot + shift

    def ray(self, K: np.ndarray, u: float, v: float) -> tuple[np.ndarray, np.ndarray]:
        """(origin, unit direction) in world of the ray through pixel (u, v)."""
        d = self.R.T @ np.linalg.solve(K, [u, v, 1.0])
        return self.eye.copy(), d / np.linalg.norm(d)
