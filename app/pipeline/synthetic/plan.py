"""The drone's flight plan: a PINHOLE camera and a lawnmower path of near-nadir shots.

Strips run north-south, alternating direction; the image's long side lies across the track.
Shot and strip spacing follow from the footprint at the flight height so that forward and side
overlap hit their targets; the overlap actually achieved over the mean ground is reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

AGL_M = 80.0  # nominal flight height above the mean ground (m)
FOCAL_FRACTION = 0.8  # fx = 0.8 * width: a 64 degree horizontal field of view, like DJI mappers
SENSOR_WIDTH_MM = 13.2  # a 1-inch sensor; gives FocalLength in mm and FocalPlaneXResolution
TARGET_OVERLAP = 0.75  # forward and side
MAX_TILT_DEG = 2.0  # gimbal pitch stays within 2 degrees of nadir
MAX_YAW_JITTER_DEG = 2.5


@dataclass(frozen=True)
class Camera:
    """PINHOLE intrinsics in pixels (COLMAP convention: pixel centres at +0.5)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float

    @classmethod
    def for_size(cls, width: int, height: int) -> "Camera":
        """The synthetic camera for an image size: square pixels, centred principal point."""
        f = FOCAL_FRACTION * width
        return cls(width, height, f, f, width / 2.0, height / 2.0)

    def to_json(self) -> dict:
        """ground_truth.json's camera block."""
        return {"model": "PINHOLE", "width": self.width, "height": self.height,
                "fx": self.fx, "fy": self.fy, "cx": self.cx, "cy": self.cy}


@dataclass(frozen=True)
class Shot:
    """One photo: where the camera was (ENU) and how it pointed."""

    index: int
    strip: int
    position: np.ndarray  # camera centre, ENU metres
    yaw_deg: float  # gimbal yaw, degrees clockwise from north
    pitch_deg: float  # gimbal pitch, -90 = straight down
    flight_yaw_deg: float  # the aircraft's heading along its strip
    time_s: float  # seconds after the first shot

    @property
    def R(self) -> np.ndarray:
        """R_cam_from_world (COLMAP: x_cam = R x_world + t; x right, y down, z forward)."""
        return rotation_from_gimbal(self.yaw_deg, self.pitch_deg)

    @property
    def t(self) -> np.ndarray:
        """Translation t = -R C."""
        return -self.R @ self.position


def rotation_from_gimbal(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """R_cam_from_world for a zero-roll gimbal at yaw (clockwise from north) and pitch."""
    psi, theta = math.radians(yaw_deg), math.radians(pitch_deg)
    forward = np.array([math.sin(psi) * math.cos(theta), math.cos(psi) * math.cos(theta),
                        math.sin(theta)])
    up = np.array([-math.sin(psi) * math.sin(theta), -math.cos(psi) * math.sin(theta),
                   math.cos(theta)])
    down = -up
    right = np.cross(down, forward)
    return np.stack([right, down, forward])


@dataclass(frozen=True)
class FlightPlan:
    """All shots plus the figures that describe the survey."""

    camera: Camera
    shots: list[Shot]
    shot_spacing_m: float
    strip_spacing_m: float
    agl_m: float

    def footprint_m(self, agl_m: float) -> tuple[float, float]:
        """Ground footprint (across track, along track) of a nadir shot at this height."""
        return (self.camera.width * agl_m / self.camera.fx,
                self.camera.height * agl_m / self.camera.fy)

    def overlap(self, agl_m: float) -> tuple[float, float]:
        """(forward, side) overlap over flat ground `agl_m` below the camera."""
        across, along = self.footprint_m(agl_m)
        return 1.0 - self.shot_spacing_m / along, 1.0 - self.strip_spacing_m / across


def strip_layout(n_images: int) -> list[int]:
    """How many shots each strip gets: about square coverage, the remainder on the last strip."""
    strips = max(1, round(math.sqrt(n_images / 1.5)))
    per = math.ceil(n_images / strips)
    counts = [per] * (n_images // per)
    if n_images % per:
        counts.append(n_images % per)
    return counts


def plan_flight(n_images: int, width: int, height: int, rng: np.random.Generator,
                ground_z: float = 0.0) -> FlightPlan:
    """Lawnmower path of `n_images` shots centred on the origin, `AGL_M` above `ground_z`."""
    camera = Camera.for_size(width, height)
    across, along = camera.width * AGL_M / camera.fx, camera.height * AGL_M / camera.fy
    shot_spacing = (1.0 - TARGET_OVERLAP) * along
    strip_spacing = (1.0 - TARGET_OVERLAP) * across
    counts = strip_layout(n_images)
    per = max(counts)
    shots: list[Shot] = []
    time_s = 0.0
    for strip, count in enumerate(counts):
        x = (strip - (len(counts) - 1) / 2.0) * strip_spacing
        northbound = strip % 2 == 0
        heading = 0.0 if northbound else 180.0
        for k in range(count):
            along_pos = (k - (per - 1) / 2.0) * shot_spacing
            y = along_pos if northbound else -along_pos
            jitter = rng.normal(0.0, [0.3, 0.3, 0.4])  # GNSS/wind wander of the aircraft (m)
            yaw = heading + float(np.clip(rng.normal(0.0, 1.0), -1, 1)) * MAX_YAW_JITTER_DEG
            pitch = -90.0 + float(rng.uniform(0.0, MAX_TILT_DEG))
            shots.append(Shot(index=len(shots), strip=strip,
                              position=np.array([x, y, ground_z + AGL_M]) + jitter,
                              yaw_deg=_wrap_deg(yaw), pitch_deg=pitch,
                              flight_yaw_deg=_wrap_deg(heading), time_s=time_s))
            time_s += shot_spacing / 8.0  # 8 m/s survey speed
        time_s += 12.0  # the turn onto the next strip
    return FlightPlan(camera, shots, shot_spacing, strip_spacing, AGL_M)


def _wrap_deg(angle: float) -> float:
    """Angle in (-180, 180], as DJI reports yaw."""
    wrapped = (angle + 180.0) % 360.0 - 180.0
    return 180.0 if wrapped == -180.0 else wrapped
