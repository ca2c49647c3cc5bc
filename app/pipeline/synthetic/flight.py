"""generate_flight: render a synthetic drone survey to JPEGs with EXIF/XMP and ground truth."""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..atomic import write_json
from ..errors import InputError, ProjectError
from ..events import Event, Log, Progress
from ..geodesy import enu_to_lla
from .exif import build_exif, build_xmp, write_jpeg
from .gps_errors import GpsErrors, apply_errors, rtk_tags
from .plan import SENSOR_WIDTH_MM, FlightPlan, Shot, plan_flight, strip_layout
from .render import cast, shade
from .world import World, build_world

STAGE = "sample-flight"
ORIGIN = {"lat": 50.8198, "lon": -0.1372, "alt": 45.0}  # ENU origin (near Brighton, UK)
START = datetime(2026, 5, 14, 10, 30, 0)  # local time of the first shot
FILE_PATTERN = "SYN_{:04d}.JPG"


def generate_flight(out_dir: Path, n_images: int = 24, seed: int = 7, width: int = 1024,
                    height: int = 768, emit: Callable[[Event], None] | None = None,
                    gps_errors: GpsErrors | None = None) -> dict[str, Any]:
    """Render a lawnmower survey of a synthetic village into `out_dir`, its EXIF GPS
    misreported as `gps_errors` says (exact by default); returns a summary."""
    _check_args(n_images, width, height)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProjectError(f"Cannot create the sample flight folder {out_dir}: "
                           f"{exc.strerror or exc}", hint="choose a folder you can write to "
                           "(and not an existing file)", path=out_dir) from exc
    (out_dir / "ground_truth.json").unlink(missing_ok=True)  # written last: marks a whole flight
    emit = emit or (lambda event: None)
    plan, world = survey(n_images, seed, width, height)
    errors = gps_errors or GpsErrors()
    reported = apply_errors(errors, np.array([s.position for s in plan.shots]),
                            np.array([s.time_s for s in plan.shots]), seed)
    emit(Progress(stage=STAGE, fraction=0.0, message=f"scene built; rendering {n_images} images"))
    takeoff_z = float(world.terrain.sample(np.zeros(1, np.float32), np.zeros(1, np.float32))[0])
    images = []

    def write(shot: Shot) -> dict[str, Any]:
        gps = GpsReport(reported.positions[shot.index], bool(reported.outliers[shot.index]),
                        errors)
        return _write_shot(out_dir, world, plan, shot, takeoff_z, gps)

    # numpy and Pillow release the GIL in the heavy loops, so threads render shots in parallel
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        for record in pool.map(write, plan.shots):
            images.append(record)
            emit(Progress(stage=STAGE, fraction=len(images) / n_images,
                          message=f"rendered {record['file']}"))
    truth = {"origin": ORIGIN, "crs": "local ENU metres (x east, y north, z up)",
             "camera": {**plan.camera.to_json(), **_lens(plan)}, "images": images,
             "scene": _scene_info(world, plan, seed, takeoff_z),
             "gps_errors": errors.to_dict()}
    write_json(out_dir / "ground_truth.json", truth)
    _remove_stale(out_dir, n_images)
    scene = truth["scene"]
    emit(Log(stage=STAGE, text=f"sample flight: {n_images} images, overlap "
             f"{scene['overlap_forward']:.0%} forward / {scene['overlap_side']:.0%} side"))
    return {"images": n_images, "width": width, "height": height, "folder": str(out_dir),
            "seed": seed, "overlap_forward": scene["overlap_forward"],
            "overlap_side": scene["overlap_side"], "ground_truth": str(out_dir / "ground_truth.json")}


def survey(n_images: int, seed: int, width: int, height: int) -> tuple[FlightPlan, World]:
    """The flight plan and the world it photographs, both determined by the seed."""
    rng = np.random.default_rng(seed)
    plan = plan_flight(n_images, width, height, rng)
    return plan, build_world(plan, rng)


def _check_args(n_images: int, width: int, height: int) -> None:
    if n_images < 1:
        raise InputError(f"A sample flight needs at least one image, not {n_images}",
                         hint="pass --images 1 or more (24 is the default)")
    if not (64 <= width <= 8192 and 64 <= height <= 8192):
        raise InputError(f"Image size {width}x{height} is out of range",
                         hint="use a width and height between 64 and 8192 pixels")


def _lens(plan: FlightPlan) -> dict[str, float]:
    """The physical lens behind the pixel focal length, as EXIF reports it."""
    cam = plan.camera
    px_per_mm = cam.width / SENSOR_WIDTH_MM
    diag_px = math.hypot(cam.width, cam.height)
    return {"focal_length_mm": cam.fx / px_per_mm, "sensor_width_mm": SENSOR_WIDTH_MM,
            "focal_length_35mm": round(cam.fx * math.hypot(36.0, 24.0) / diag_px),
            "pixels_per_mm": px_per_mm}


@dataclass(frozen=True)
class GpsReport:
    """What one photo's EXIF/XMP says about its position (ENU; None: no GPS written)."""

    position: np.ndarray | None
    outlier: bool
    errors: GpsErrors


def _write_shot(out_dir: Path, world: World, plan: FlightPlan, shot: Shot, takeoff_z: float,
                gps: GpsReport) -> dict[str, Any]:
    """Render one shot, write its JPEG, and return its ground-truth record."""
    rgb = shade(world, cast(world, plan.camera, shot.R, shot.position))
    lat, lon, alt = (float(v) for v in enu_to_lla(shot.position, *ORIGIN.values())[0])
    written = None if gps.position is None else \
        tuple(float(v) for v in enu_to_lla(gps.position, *ORIGIN.values())[0])
    when = START + timedelta(seconds=round(shot.time_s))
    lens = _lens(plan)
    exif = build_exif(gps=written, when=when, width=plan.camera.width,
                      height=plan.camera.height, focal_mm=lens["focal_length_mm"],
                      focal_35mm=lens["focal_length_35mm"], px_per_mm=lens["pixels_per_mm"])
    gimbal = {"yaw": round(shot.yaw_deg, 2), "pitch": round(shot.pitch_deg, 2), "roll": 0.0}
    rel_alt = float(shot.position[2]) - takeoff_z if gps.errors.relative_altitude else None
    xmp = build_xmp(when=when, abs_alt=None if written is None else written[2], rel_alt=rel_alt,
                    gimbal_yaw=gimbal["yaw"], gimbal_pitch=gimbal["pitch"],
                    flight_yaw=shot.flight_yaw_deg, extra=rtk_tags(gps.errors))
    name = FILE_PATTERN.format(shot.index + 1)
    write_jpeg(out_dir / name, rgb, exif, xmp)
    return {"file": name, "position_enu": shot.position.tolist(),
            "R_cam_from_world": shot.R.tolist(), "t": shot.t.tolist(),
            "lat": lat, "lon": lon, "alt": alt, "timestamp": when.isoformat(),
            "strip": shot.strip, "gimbal_deg": gimbal, "flight_yaw_deg": shot.flight_yaw_deg,
            "gps_written": None if written is None else dict(zip(("lat", "lon", "alt"), written)),
            "gps_error_enu": None if gps.position is None else
            (gps.position - shot.position).tolist(), "gps_outlier": gps.outlier}


def _scene_info(world: World, plan: FlightPlan, seed: int, takeoff_z: float) -> dict[str, Any]:
    """Scene figures: extent, ground height, overlap achieved over the mean ground, layout."""
    x0, y0, x1, y1 = world.area
    across, along = plan.footprint_m(plan.agl_m)
    centres = np.array([s.position for s in plan.shots])
    lo = centres[:, :2].min(axis=0) - [across / 2, along / 2]
    hi = centres[:, :2].max(axis=0) + [across / 2, along / 2]
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 64), np.linspace(lo[1], hi[1], 64))
    ground = world.terrain.sample(gx.ravel().astype(np.float32), gy.ravel().astype(np.float32))
    ground_z = float(ground.mean())
    agl = float(centres[:, 2].mean()) - ground_z
    forward, side = plan.overlap(agl)
    return {"extent_m": max(x1 - x0, y1 - y0), "area_enu": [x0, y0, x1, y1],
            "flight_area_enu": [*lo.tolist(), *hi.tolist()],
            "ground_height_m": ground_z, "terrain_range_m": [float(world.terrain.data.min()),
                                                             float(world.terrain.data.max())],
            "takeoff_enu": [0.0, 0.0, takeoff_z], "flight_height_agl_m": agl,
            "gsd_m": agl / plan.camera.fx, "overlap_forward": forward, "overlap_side": side,
            "shot_spacing_m": plan.shot_spacing_m, "strip_spacing_m": plan.strip_spacing_m,
            "strips": strip_layout(len(plan.shots)), "buildings": len(world.buildings),
            "sun_direction_enu": world.sun.tolist(), "seed": seed}


def _remove_stale(out_dir: Path, n_images: int) -> None:
    """Delete images a previous, longer sample flight left in the same folder."""
    index = n_images + 1
    while (stale := out_dir / FILE_PATTERN.format(index)).exists():
        stale.unlink()
        index += 1
