"""SfM models built straight from the sample-flight generator's ground truth (no SfM run), with
its GPS error models on top, and the ways a real model breaks: a folded strip, a part at
another scale, a group placed elsewhere. Fast and deterministic, for the georeferencing and
gate tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pycolmap
from scipy.spatial.transform import Rotation

from app.pipeline.geodesy import enu_to_lla, lla_to_enu
from app.pipeline.ingest.gps_quality import assess_gps
from app.pipeline.sfm.flight import Flight, load_flight
from app.pipeline.synthetic.flight import ORIGIN, START
from app.pipeline.ingest.xmp import DJI_KEYS
from app.pipeline.synthetic.gps_errors import GpsErrors, apply_errors, rtk_tags
from app.pipeline.synthetic.plan import Shot, plan_flight

WIDTH, HEIGHT = 640, 480
# the arbitrary frame SfM would leave the model in: scale 0.02, turned, shifted
MODEL_FRAME = (0.02, Rotation.from_rotvec([0.3, -0.2, 1.1]).as_matrix(), np.array([5.0, -3.0, 2.0]))


@dataclass
class Survey:
    """A model of a flight in an arbitrary frame, the flight as ingest saw it, the truth."""

    rec: pycolmap.Reconstruction
    flight: Flight
    shots: list[Shot]
    names: list[str]

    def true_centres(self) -> np.ndarray:
        """(N, 3) true camera centres, ENU about the generator's origin."""
        return np.array([s.position for s in self.shots])

    def strip(self, k: int) -> list[str]:
        """Names of the images of strip k (negative: from the end)."""
        strips = sorted({s.strip for s in self.shots})
        return [n for n, s in zip(self.names, self.shots) if s.strip == strips[k]]


def survey(tmp: Path, errors: GpsErrors = GpsErrors(), n_images: int = 40, seed: int = 4,
           ground_points: int = 1500) -> Survey:
    """The ground-truth model of a synthetic survey (moved into MODEL_FRAME) and its flight."""
    rng = np.random.default_rng(seed)
    plan = plan_flight(n_images, WIDTH, HEIGHT, rng)
    names = [f"SYN_{s.index + 1:04d}.JPG" for s in plan.shots]
    rec = _model(plan.shots, names, plan.camera, rng, ground_points)
    scale, R, t = MODEL_FRAME
    rec.transform(pycolmap.Sim3d(scale, pycolmap.Rotation3d(R), t))
    flight = _flight(tmp, plan.shots, names, errors, seed)
    return Survey(rec, flight, plan.shots, names)


def move_cameras(rec: pycolmap.Reconstruction, names: list[str], transform) -> None:
    """Apply `transform(centre, R_world_from_cam) -> (centre, R_world_from_cam)` to cameras."""
    for image in rec.images.values():
        if image.name not in names:
            continue
        pose = image.cam_from_world()
        R_wc = pose.rotation.matrix().T
        centre, R_wc = transform(np.asarray(image.projection_center()), R_wc)
        rec.frames[image.frame_id].rig_from_world = pycolmap.Rigid3d(
            pycolmap.Rotation3d(R_wc.T), -R_wc.T @ centre)


def _model(shots: list[Shot], names: list[str], camera, rng: np.random.Generator,
           ground_points: int) -> pycolmap.Reconstruction:
    rec = pycolmap.Reconstruction()
    cam = pycolmap.Camera(model="PINHOLE", width=camera.width, height=camera.height,
                          params=[camera.fx, camera.fy, camera.cx, camera.cy])
    cam.camera_id = 1
    rec.add_camera_with_trivial_rig(cam)
    centres = np.array([s.position for s in shots])
    lo, hi = centres[:, :2].min(axis=0) - 40, centres[:, :2].max(axis=0) + 40
    points = np.c_[rng.uniform(lo, hi, (ground_points, 2)), rng.normal(0, 2, ground_points)]
    tracks: dict[int, list[tuple[int, int]]] = {}
    for image_id, (shot, name) in enumerate(zip(shots, names), start=1):
        cam_pts = points @ shot.R.T + shot.t
        uv = cam_pts[:, :2] / cam_pts[:, 2:] * [camera.fx, camera.fy] + [camera.cx, camera.cy]
        seen = np.flatnonzero((cam_pts[:, 2] > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < camera.width)
                              & (uv[:, 1] >= 0) & (uv[:, 1] < camera.height))
        image = pycolmap.Image(name=name, camera_id=1, image_id=image_id, keypoints=uv[seen])
        rec.add_image_with_trivial_frame(image, pycolmap.Rigid3d(pycolmap.Rotation3d(shot.R),
                                                                  shot.t))
        for k, p in enumerate(seen):
            tracks.setdefault(int(p), []).append((image_id, k))
    for p, elements in tracks.items():
        if len(elements) < 2:
            continue
        track = pycolmap.Track()
        for image_id, k in elements:
            track.add_element(image_id, k)
        rec.add_point3D(points[p], track, np.array([128, 128, 128], np.uint8))
    return rec


def _flight(tmp: Path, shots: list[Shot], names: list[str], errors: GpsErrors,
            seed: int) -> Flight:
    """The flight.json ingest would write for these shots' GPS, loaded as SfM loads it."""
    reported = apply_errors(errors, np.array([s.position for s in shots]),
                            np.array([s.time_s for s in shots]), seed)
    takeoff = 0.0  # the generator's ground height at the origin is near 0 m
    entries = []
    for shot, name, pos in zip(shots, names, reported.positions):
        gps = None if pos is None else dict(zip(("lat", "lon", "alt"), (
            float(v) for v in enu_to_lla(pos, *ORIGIN.values())[0])))
        dji = {"gimbal_pitch": shot.pitch_deg, "gimbal_yaw": shot.yaw_deg}
        if errors.effective().relative_altitude:
            dji["relative_altitude"] = float(shot.position[2]) - takeoff
        dji.update({DJI_KEYS[k]: float(v) for k, v in (rtk_tags(errors) or {}).items()})
        entries.append({"file": name, "usable": True, "width": WIDTH, "height": HEIGHT,
                        "timestamp": (START + timedelta(seconds=shot.time_s)).isoformat(),
                        "gps": gps, "dji": dji, "focal_length_px": 0.8 * WIDTH})
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "flight.json"
    path.write_text(json.dumps({"source": str(tmp), "images": entries,
                                "report": {"gps_quality": assess_gps(entries)}}))
    return load_flight(path)


def true_centres_in(s: Survey, origin) -> np.ndarray:
    """(N, 3) true camera centres in the ENU frame of `origin` (an sfm.geo.Origin)."""
    lla = enu_to_lla(s.true_centres(), *ORIGIN.values())
    return lla_to_enu(lla, origin.lat, origin.lon, origin.alt)


def scale_part(rec: pycolmap.Reconstruction, names: list[str], factor: float) -> None:
    """Shrink or grow these cameras' layout about their centroid (a part at another scale)."""
    centre = np.mean([im.projection_center() for im in rec.images.values() if im.name in names],
                     axis=0)
    move_cameras(rec, names, lambda c, R: (centre + factor * (c - centre), R))


def fold_part(rec: pycolmap.Reconstruction, names: list[str], degrees: float) -> None:
    """Rotate these cameras about their own flight line (a strip folded up)."""
    part = np.array([im.projection_center() for im in rec.images.values() if im.name in names])
    axis = np.linalg.svd(part - part.mean(axis=0))[2][0]
    rot = Rotation.from_rotvec(axis * np.radians(degrees)).as_matrix()
    centre = part.mean(axis=0)
    move_cameras(rec, names, lambda c, R: (centre + rot @ (c - centre), rot @ R))


def shift_part(rec: pycolmap.Reconstruction, names: list[str], metres: float) -> None:
    """Move these cameras sideways by `metres` (in the true scale of the survey)."""
    step = np.array([metres * MODEL_FRAME[0], 0.0, 0.0])
    move_cameras(rec, names, lambda c, R: (c + step, R))
