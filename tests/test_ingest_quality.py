"""Ingest measures the GPS's quality and each image's sharpness and exposure (report.json).

The flights come from the sample-flight generator's GPS error models, rendered tiny (the
assessment reads only EXIF/XMP, as ingest writes them into flight.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageEnhance, ImageFilter

from app.cli import main
from app.pipeline.ingest.exif import read_image
from app.pipeline.ingest.gps_quality import assess_gps, summary
from app.pipeline.ingest.image_quality import measure_all
from app.pipeline.project import ProjectPaths
from app.pipeline.synthetic import PRESETS, GpsErrors, generate_flight

TINY = dict(n_images=40, seed=4, width=96, height=72)


def assessed(folder: Path, errors: GpsErrors) -> tuple[dict, dict]:
    """(gps_quality, ground truth) of a tiny flight written with `errors`."""
    generate_flight(folder, gps_errors=errors, **TINY)
    entries = [read_image(p, p.name, p.stat().st_size) for p in sorted(folder.glob("*.JPG"))]
    return assess_gps(entries), json.loads((folder / "ground_truth.json").read_text())


def test_exact_gps_is_good_on_both_axes_and_heights_come_from_relative_altitude(tmp_path):
    q, _ = assessed(tmp_path, GpsErrors())
    assert q["horizontal"]["verdict"] == q["altitude"]["verdict"] == "good"
    assert q["horizontal"]["source"] == "flight lines" and q["horizontal"]["lines"] >= 4
    assert q["horizontal"]["scatter_m"] < 1.0  # the aircraft's own 0.3 m wander
    assert q["vertical_source"] == "relative_altitude" and q["sigma_vertical_m"] == 0.5
    assert q["sigma_horizontal_m"] == 2.0  # never trusted below consumer GNSS's floor


def test_horizontal_noise_is_measured_across_the_flight_lines(tmp_path):
    q, _ = assessed(tmp_path, GpsErrors(horizontal_sigma_m=5.0))
    assert q["horizontal"]["scatter_m"] == pytest.approx(5.0, rel=0.3)
    assert q["horizontal"]["verdict"] == "noisy" and q["sigma_horizontal_m"] > 3.5
    assert "GPS horizontal noisy (+-" in summary(q)


def test_outliers_are_named_without_inflating_the_scatter(tmp_path):
    q, truth = assessed(tmp_path, GpsErrors(horizontal_sigma_m=1.0, outlier_fraction=0.1))
    true = {im["file"] for im in truth["images"] if im["gps_outlier"]}
    assert len(true) == 4 and set(q["horizontal"]["outliers"]) == true
    assert q["horizontal"]["scatter_m"] < 2.5


@pytest.mark.parametrize("relative_altitude", [True, False])
def test_altitude_drift_is_measured_per_minute(tmp_path, relative_altitude):
    q, _ = assessed(tmp_path, GpsErrors(altitude_drift_m_per_min=3.0, altitude_sigma_m=0.5,
                                        relative_altitude=relative_altitude))
    alt = q["altitude"]
    assert alt["drift_m_per_min"] == pytest.approx(3.0, abs=0.5)
    assert alt["reference"] == ("relative_altitude" if relative_altitude else "gps")
    assert alt["verdict"] == "noisy" and "altitude noisy (drifts +" in summary(q)


def test_a_large_drift_makes_the_altitude_unreliable_and_heights_come_from_the_model(tmp_path):
    q, _ = assessed(tmp_path, GpsErrors(altitude_drift_m_per_min=20.0, relative_altitude=False))
    assert q["altitude"]["verdict"] == "unreliable"
    assert q["vertical_source"] == "model" and q["sigma_vertical_m"] is None
    assert "heights from the model" in summary(q)


def test_an_altitude_step_is_found(tmp_path):
    generate_flight(tmp_path, gps_errors=GpsErrors(relative_altitude=False), **TINY)
    entries = [read_image(p, p.name, p.stat().st_size) for p in sorted(tmp_path.glob("*.JPG"))]
    for e in entries[25:]:
        e["gps"]["alt"] += 12.0  # the receiver changed its solution mid-flight
    steps = assess_gps(entries)["altitude"]["steps"]
    assert [s["file"] for s in steps] == [entries[25]["file"]]
    assert steps[0]["jump_m"] == pytest.approx(12.0, abs=1.0)


def test_missing_gps_leaves_the_rest_assessed_without_false_outliers(tmp_path):
    q, truth = assessed(tmp_path, GpsErrors(missing_fraction=0.2))
    assert q["images"] == 32 and sum(im["gps_written"] is None for im in truth["images"]) == 8
    assert q["horizontal"]["verdict"] == "good" and not q["horizontal"]["outliers"]


def test_rtk_tags_make_the_gps_centimetre_grade(tmp_path):
    q, _ = assessed(tmp_path, GpsErrors(rtk=True))
    assert q["accuracy_tags"]["rtk_fixed_share"] == 1.0
    assert q["horizontal"]["source"] == "RTK tags" and q["sigma_horizontal_m"] == 0.02


def test_the_consumer_preset_is_flagged_and_its_altitude_not_trusted_blindly(tmp_path):
    q, _ = assessed(tmp_path, PRESETS["consumer"])
    assert q["relative_altitude"]["images"] == 0 and q["altitude"]["verdict"] != "good"
    assert q["altitude"]["drift_m_per_min"] > 1.5


def test_blurred_and_badly_exposed_images_are_flagged_against_the_flight(tmp_path):
    generate_flight(tmp_path / "f", n_images=6, seed=4, width=320, height=240)
    files = sorted((tmp_path / "f").glob("*.JPG"))
    with Image.open(files[1]) as im:
        im.filter(ImageFilter.GaussianBlur(3)).save(files[1], quality=95)
    with Image.open(files[2]) as im:
        ImageEnhance.Brightness(im).enhance(3.0).save(files[2], quality=95)
    with Image.open(files[3]) as im:
        ImageEnhance.Brightness(im).enhance(0.15).save(files[3], quality=95)
    quality = measure_all((p.name, p) for p in files)
    assert {n: q["flags"] for n, q in quality.items()} == {
        files[0].name: [], files[1].name: ["blurred"], files[2].name: ["overexposed"],
        files[3].name: ["underexposed"], files[4].name: [], files[5].name: []}
    assert quality[files[1].name]["sharpness"] < 0.3 * quality[files[0].name]["sharpness"]
    assert quality[files[2].name]["clipped_bright"] > 0.05


def test_the_ingest_report_carries_gps_and_image_quality(tmp_path, capsys):
    generate_flight(tmp_path / "f", gps_errors=GpsErrors(horizontal_sigma_m=5.0), **TINY)
    assert main(["ingest", str(tmp_path / "f"), "-o", str(tmp_path / "p")]) == 0
    report = json.loads(ProjectPaths(tmp_path / "p").ingest_report.read_text())
    assert report["gps_quality"]["horizontal"]["verdict"] == "noisy"
    assert set(report["image_quality"]) == {f"SYN_{i:04d}.JPG" for i in range(1, 41)}
    assert set(next(iter(report["image_quality"].values()))) == {
        "sharpness", "exposure_mean", "clipped_dark", "clipped_bright", "flags"}
    assert any(w.startswith("GPS horizontal noisy") for w in report["warnings"])
    assert "GPS horizontal noisy" in capsys.readouterr().out
