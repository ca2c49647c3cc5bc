"""The SfM benchmark's flights: brighton_beach (real, DJI) and synthetic 12 MP surveys with
consumer-grade GPS (generated once into a cache folder), and how a run compares with the
synthetic ground truth (georeference accuracy, focal length)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pycolmap

from app.pipeline.geodesy import enu_to_lla, lla_to_enu
from app.pipeline.ingest.gps_quality import assess_gps, capture_order
from app.pipeline.project import ProjectPaths
from app.pipeline.sfm.geo import camera_centres
from app.pipeline.synthetic import PRESETS, generate_flight
from app.pipeline.synthetic.gps_errors import GpsErrors, apply_errors
from tests.sfm_helpers import BRIGHTON, FIXTURES

SYNTHETIC = {"survey75": 75, "survey150": 150}  # images, 4000x3000, consumer GPS
SIZE = (4000, 3000)
SEED = 5
# "<flight>-issue12": the same photos with the GPS issue 12's real survey had: ~13 m of
# wandering horizontal error and the altitude climbing 114 m through a level flight (about
# 27 m/min over survey75's 4 minutes), no RelativeAltitude
ISSUE12 = GpsErrors(horizontal_sigma_m=13.0, horizontal_correlation_s=60.0,
                    altitude_drift_m_per_min=27.0, altitude_sigma_m=2.0, relative_altitude=False)


def flight_folder(name: str, cache: Path) -> Path | None:
    """The images of a benchmark flight (generated on first use); None when unavailable."""
    if name == "brighton":
        return BRIGHTON if BRIGHTON.is_dir() else None
    name = name.removesuffix("-issue12")
    folder = cache / name
    if not (folder / "ground_truth.json").exists():
        print(f"generating {name} ({SYNTHETIC[name]} images, {SIZE[0]}x{SIZE[1]}, consumer "
              f"GPS) in {folder} ...", flush=True)
        generate_flight(folder, n_images=SYNTHETIC[name], seed=SEED, width=SIZE[0],
                        height=SIZE[1], gps_errors=PRESETS["consumer"])
    return folder


def reference_focal(name: str, folder: Path) -> float | None:
    """The focal length (pixels of the photo) to compare with: OpenSfM's on brighton (the
    fixture), the generator's on a synthetic flight."""
    if name.startswith("brighton"):
        path = FIXTURES / "opensfm_brighton" / "reconstruction.json"
        if not path.exists():
            return None
        cam = next(iter(json.loads(path.read_text())[0]["cameras"].values()))
        return float(cam["focal"]) * max(cam["width"], cam["height"])
    return float(json.loads((folder / "ground_truth.json").read_text())["camera"]["fx"])


def truth_errors(folder: Path, project_sfm: Path) -> dict[str, float] | None:
    """How far the georeferenced cameras are from the truth: the placement of the whole
    (mean horizontal offset, height offset, scale) and each camera's RMS horizontal error."""
    truth_path = folder / "ground_truth.json"
    geo_path = project_sfm / "geo.json"
    if not truth_path.exists() or not geo_path.exists():
        return None
    truth = json.loads(truth_path.read_text())
    geo = json.loads(geo_path.read_text())
    if not geo.get("georeferenced"):
        return None
    o, g = truth["origin"], geo["origin"]
    true = lla_to_enu(enu_to_lla(np.array([im["position_enu"] for im in truth["images"]]),
                                 o["lat"], o["lon"], o["alt"]), g["lat"], g["lon"], g["alt"])
    centres = camera_centres(pycolmap.Reconstruction(str(project_sfm / "sparse" / "0")))
    keep = [i for i, im in enumerate(truth["images"]) if im["file"] in centres]
    est = np.array([centres[truth["images"][i]["file"]] for i in keep])
    true = true[keep]
    err = est - true
    spread_true = np.linalg.norm(true[:, :2] - true[:, :2].mean(axis=0), axis=1)
    spread_est = np.linalg.norm(est[:, :2] - est[:, :2].mean(axis=0), axis=1)
    return {"placement_m": float(np.linalg.norm(err[:, :2].mean(axis=0))),
            "height_offset_m": float(err[:, 2].mean()),
            "scale_error": float(spread_est.sum() / spread_true.sum() - 1.0),
            "camera_rms_m": float(np.sqrt(np.mean(np.sum(err[:, :2] ** 2, axis=1))))}


def degrade_gps(paths: ProjectPaths, folder: Path, errors: GpsErrors) -> None:
    """Replace an ingested synthetic flight's GPS by what `errors` would have written (and
    ingest's assessment of it), as if the camera had recorded that GPS."""
    truth = json.loads((folder / "ground_truth.json").read_text())
    shots = truth["images"]
    start = datetime.fromisoformat(shots[0]["timestamp"])
    times = np.array([(datetime.fromisoformat(im["timestamp"]) - start).total_seconds()
                      for im in shots])
    reported = apply_errors(errors, np.array([im["position_enu"] for im in shots]), times, SEED)
    o = truth["origin"]
    gps = {im["file"]: None if pos is None else dict(zip(("lat", "lon", "alt"), (
        float(v) for v in enu_to_lla(pos, o["lat"], o["lon"], o["alt"])[0])))
           for im, pos in zip(shots, reported.positions)}
    flight = json.loads(paths.flight_json.read_text())
    for entry in flight["images"]:
        entry["gps"] = gps[entry["file"]]
        if entry.get("dji") and not errors.relative_altitude:
            entry["dji"].pop("relative_altitude", None)
    quality = assess_gps(capture_order([e for e in flight["images"] if e["usable"]]))
    flight["report"]["gps_quality"] = quality
    paths.flight_json.write_text(json.dumps(flight))
    report = json.loads(paths.ingest_report.read_text())
    report["gps_quality"] = quality
    paths.ingest_report.write_text(json.dumps(report))
