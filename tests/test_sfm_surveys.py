"""Real pycolmap runs on small synthetic surveys: a flight with consumer-grade GPS passes with
its georeference accuracy stated and right; parts of a survey that do not connect fail."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import pycolmap

from app.pipeline.geodesy import enu_to_lla, lla_to_enu
from app.pipeline.project import Project
from app.pipeline.sfm.geo import Origin, camera_centres
from app.pipeline.synthetic import GpsErrors, generate_flight
from tests.sfm_helpers import run_sfm
from tests.test_sfm_stage import logs, process


def test_a_flight_with_noisy_drifting_gps_passes_with_its_accuracy_stated(tmp_path: Path):
    errors = GpsErrors(horizontal_sigma_m=4.0, altitude_drift_m_per_min=6.0,
                       altitude_offset_m=20.0, relative_altitude=False)
    generate_flight(tmp_path / "f", n_images=16, seed=3, width=640, height=480,
                    gps_errors=errors)
    code, events = process(str(tmp_path / "f"), "-o", str(tmp_path / "p"), "--until", "sfm")
    assert code == 0, logs(events)
    paths = Project.open(tmp_path / "p", create=False).paths
    stats = json.loads(paths.sfm_stats.read_text())
    assert stats["registered_images"] == 16 and stats["gate"]["passed"]
    warning = next(w["message"] for w in stats["gate"]["warnings"]
                   if w["check"] == "georeference_accuracy")
    assert "position +-" in warning and warning in logs(events)
    geo = json.loads(paths.geo_json.read_text())
    accuracy = geo["accuracy"]
    truth = json.loads((tmp_path / "f" / "ground_truth.json").read_text())
    origin = Origin(**geo["origin"], alt_reference="")
    true = true_centres_in_truth(truth, origin)
    centres = camera_centres(pycolmap.Reconstruction(str(paths.sfm_model)))
    err = np.array([centres[im["file"]] for im in truth["images"]]) - true
    offset = float(np.linalg.norm(err[:, :2].mean(axis=0)))
    assert offset < 3 * np.sqrt(2) * accuracy["position_m"] + 0.5  # as accurate as stated
    assert accuracy["position_m"] < 4.0  # and not everything-is-possible
    assert np.ptp(err[:, 2]) < 2.0  # level although the GPS altitude drifts


def true_centres_in_truth(truth: dict, origin: Origin) -> np.ndarray:
    """Ground-truth camera centres in the project's ENU frame."""
    o = truth["origin"]
    lla = enu_to_lla(np.array([im["position_enu"] for im in truth["images"]]),
                     o["lat"], o["lon"], o["alt"])
    return lla_to_enu(lla, origin.lat, origin.lon, origin.alt)


def test_unconnected_parts_of_one_survey_fail_and_another_flight_elsewhere_is_left_out(
        tmp_path: Path):
    from app.pipeline.synthetic import generate_flight

    folder = tmp_path / "two flights"  # two scenes the GPS puts in the same place
    generate_flight(folder / "a", n_images=8, seed=3, width=480, height=360)
    generate_flight(folder / "b", n_images=6, seed=11, width=480, height=360)
    code, events = process(str(folder), "-o", str(tmp_path / "p"), "--until", "sfm",
                           "--set", "sfm.matcher=exhaustive")
    assert code == 1
    project = Project.open(tmp_path / "p", create=False)
    record = project.record("sfm")
    assert "only 8/14 images registered" in record.reason
    assert "sfm.min_registered_ratio" in record.hint and "in separate model: b/" in record.hint
    stats = json.loads(project.paths.sfm_stats.read_text())
    assert {im["reason"] for n, im in stats["images"].items() if n.startswith("b/")} == \
        {"in_separate_model"}
    assert [len(m["images"]) for m in stats["models"]] == [8, 6]

    data = json.loads(project.paths.flight_json.read_text())
    for entry in data["images"]:
        if entry["file"].startswith("b/"):
            entry["gps"]["lat"] += 0.02  # flown 2 km further north: another flight
    project.paths.flight_json.write_text(json.dumps(data))
    ok, events = run_sfm(project)
    assert ok, project.record("sfm").reason
    assert "another flight" in logs(events)
    stats = json.loads(project.paths.sfm_stats.read_text())
    assert stats["registered_images"] == 8 and stats["gate"]["passed"]
    assert all(name.startswith("a/") for name in stats["models"][0]["images"])
