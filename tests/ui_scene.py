"""Inputs for the window's tests: a COLMAP model, a splat PLY, a past run's log, stage records.

The model is written with pycolmap and the PLY with the project's writer, so the viewer reads
real files; the event log is what a run of ingest, sfm and train emits, written with JsonlSink.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from app.pipeline.events import (Event, JsonlSink, Log, PreviewSnapshot, Progress, SfmStats,
                                 StageFinished, StageStarted, TrainMetrics)
from app.pipeline.formats.ply import write_ply
from app.pipeline.formats.splats import SH_C0, Splats

NADIR = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])  # camera looks down


def scene_points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points on rolling terrain with three box buildings (ENU metres) and their RGB in 0..1."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(-40, 40, size=(n, 2))
    z = 2.0 * np.sin(xy[:, 0] / 9.0) * np.cos(xy[:, 1] / 11.0)
    rgb = np.stack([0.35 + 0.1 * np.sin(xy[:, 0] / 5), 0.55 + 0.1 * np.cos(xy[:, 1] / 7),
                    0.25 + 0.05 * z], axis=1)
    for cx, cy, h, color in ((-15, 10, 12, (0.75, 0.3, 0.25)), (12, -8, 8, (0.7, 0.7, 0.72)),
                             (20, 18, 15, (0.85, 0.8, 0.6))):
        inside = (np.abs(xy[:, 0] - cx) < 6) & (np.abs(xy[:, 1] - cy) < 6)
        z[inside] = h
        rgb[inside] = color
    return np.column_stack([xy, z]), np.clip(rgb, 0, 1)


def write_sparse_model(folder: Path, n_points: int = 2000, seed: int = 0) -> None:
    """A PINHOLE COLMAP model: points over the scene, 12 nadir cameras on a lawnmower path."""
    import pycolmap

    rec = pycolmap.Reconstruction()
    rec.add_camera_with_trivial_rig(
        pycolmap.Camera.create_from_model_name(1, "PINHOLE", 800.0, 1024, 768))
    centers = [(x, y, 30.0) for y in (-20.0, 0.0, 20.0) for x in (-30.0, -10.0, 10.0, 30.0)]
    for i, c in enumerate(centers, start=1):
        pose = pycolmap.Rigid3d(pycolmap.Rotation3d(NADIR), -NADIR @ np.array(c))
        rec.add_image_with_trivial_frame(pycolmap.Image(name=f"img_{i:02d}.jpg", camera_id=1,
                                                        image_id=i), pose)
    xyz, rgb = scene_points(n_points, seed)
    for p, c in zip(xyz, rgb):
        rec.add_point3D(p, pycolmap.Track(), (c * 255).astype(np.uint8))
    folder.mkdir(parents=True, exist_ok=True)
    rec.write_binary(str(folder))


def write_splats(path: Path, n: int = 4000, seed: int = 1) -> None:
    """A degree-0 splat PLY over the same scene."""
    xyz, rgb = scene_points(n, seed)
    splats = Splats(means=xyz.astype(np.float32),
                    scales=np.full((n, 3), np.log(0.6), np.float32),
                    quats=np.tile(np.float32([1, 0, 0, 0]), (n, 1)),
                    opacities=np.full(n, 2.0, np.float32),
                    sh0=((rgb - 0.5) / SH_C0).astype(np.float32),
                    shN=np.zeros((n, 0, 3), np.float32))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_ply(path, splats)


def past_run_events(t0: float = 1.7e9, preview: str = "train/previews/step_3000.ply",
                    train_steps: int = 3000) -> list[Event]:
    """What ingest, sfm and train emit in one run: logs, SfM statistics, training metrics."""
    ev: list[Event] = [StageStarted(stage="ingest", t=t0),
                       Log(stage="ingest", text="12 usable images of 12", t=t0 + 1),
                       StageFinished(stage="ingest", outputs={"images": 12}, t=t0 + 2),
                       StageStarted(stage="sfm", t=t0 + 3)]
    for k in range(1, 13):
        ev.append(SfmStats(stage="sfm", t=t0 + 3 + 4 * k, phase="mapping", images_total=12,
                           images_with_features=12, matched_pairs=51, registered_images=k,
                           points=180 * k + 7 * k * k, mean_track_length=2.5 + 0.1 * k,
                           mean_reprojection_error=0.6 + 0.01 * k,
                           track_length_histogram={**{str(n): int(2000 / n ** 1.5) * k // 12
                                                      for n in range(2, 11)},
                                                   "11-14": 9 * k, "20+": 2 * k}))
    ev.append(StageFinished(stage="sfm", outputs={"registered_images": 12}, t=t0 + 60))
    ev.append(StageStarted(stage="train", t=t0 + 61))
    for step in range(0, train_steps + 1, 50):
        ev.append(TrainMetrics(stage="train", t=t0 + 61 + step / 20, step=step,
                               total_steps=train_steps, loss=0.25 * np.exp(-step / 900) + 0.02,
                               psnr=(14 + 12 * (1 - np.exp(-step / 1200))) if step % 500 == 0
                               else None,
                               num_gaussians=int(2000 + 40000 * min(step, 1500) / 1500),
                               it_per_s=18 + 2 * np.sin(step / 300),
                               eta_s=(train_steps - step) / 20))
    ev.append(PreviewSnapshot(stage="train", path=preview, step=train_steps, num_gaussians=4000,
                              t=t0 + 220))
    ev.append(Progress(stage="train", fraction=1.0, t=t0 + 221))
    ev.append(StageFinished(stage="train", outputs={"gaussians": 42000}, t=t0 + 222))
    return ev


def write_events(path: Path, events: list[Event]) -> None:
    """Append events to a JSONL log as the runner's sink does."""
    sink = JsonlSink(path)
    for event in events:
        sink(event)
    sink.close()


def mark_done(project, names: tuple[str, ...]) -> None:
    """Record the registry's stages `names` as done and current, as if they had just run."""
    from app.pipeline.runner import Runner
    from app.pipeline.stages import default_stages

    runner = Runner(project, default_stages(), emit=lambda e: None)
    for stage in runner.stages:
        if stage.name in names:
            rec = project.record(stage.name)
            rec.state, rec.run_id = "done", project.new_run_id()
            rec.basis = runner.basis(stage)
            rec.fingerprint = runner.fingerprint(stage, rec.basis)
            rec.started, rec.finished = 1.7e9, 1.7e9 + 60
    project.save()


def write_ingest(paths, n: int = 12, unusable: int = 1) -> None:
    """flight.json and report.json as ingest writes them: a lawnmower track, `unusable` skipped."""
    images = []
    for i in range(n):
        row, col = divmod(i, 4)
        images.append({"file": f"img_{i:02d}.jpg", "usable": i >= unusable,
                       "reason": "truncated JPEG" if i < unusable else None,
                       "width": 1024, "height": 768,
                       "gps": {"lat": 50.0 + 0.0002 * row,
                               "lon": -0.1 + 0.0003 * (col if row % 2 == 0 else 3 - col),
                               "alt": 120.0}})
    report = {"images_total": n, "images_usable": n - unusable,
              "unusable": [{"file": im["file"], "reason": im["reason"]}
                           for im in images if not im["usable"]],
              "gps": {"coverage": 1.0}, "cameras": {"DJI FC7303 1024x768": n},
              "mixed_cameras": False, "duplicates": [],
              "extent": {"east_west_m": 64.3, "north_south_m": 44.5},
              "altitude": {"relative_m": {"median": 77.3}},
              "gsd_cm_per_px": {"median": 2.61}, "forward_overlap": {"median": 0.76},
              "warnings": ["1 image skipped"]}
    paths.ingest.mkdir(parents=True, exist_ok=True)
    paths.flight_json.write_text(json.dumps({"schema_version": 1, "source": "/flight",
                                             "images": images, "report": report}))
    paths.ingest_report.write_text(json.dumps(report))
