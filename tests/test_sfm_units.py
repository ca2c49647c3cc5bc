"""Units of the SfM stage on small data: geo, stats, the gate, matcher choice, focal checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pycolmap
import pytest

from app.pipeline.sfm import geo, intrinsics
from app.pipeline.sfm.flight import Flight, FlightImage
from app.pipeline.sfm.matching import plan_matching
from app.pipeline.sfm.opensfm_export import read_opensfm_export
from app.pipeline.sfm.settings import SfmSettings
from app.pipeline.sfm.observations import image_errors
from app.pipeline.sfm.stats import DatabaseCounts, track_length_histogram
from app.pipeline.sfm.gate_hint import gate_error
from app.pipeline.sfm.image_status import image_entries
from app.pipeline.sfm.validate import check_model
from tests.sfm_helpers import FIXTURES

needs_fixtures = pytest.mark.skipif(not (FIXTURES / "opensfm_brighton").is_dir(),
                                    reason="../shared/fixtures absent")


def _flight(n: int, gps: int | None = None, **dji: float) -> Flight:
    gps = n if gps is None else gps
    return Flight(Path("."), tuple(
        FlightImage(f"IMG_{i:03d}.JPG", 4000, 3000, focal_length_35mm=24.0,
                    gps=(46.0 + i * 1e-5, 7.0, 500.0 + i) if i < gps else None, dji=dict(dji))
        for i in range(n)))


@pytest.fixture(scope="module")
def brighton_model() -> pycolmap.Reconstruction:
    rec, _ = read_opensfm_export(FIXTURES / "opensfm_brighton" / "colmap_export")
    return rec


def test_geodetic_enu_round_trip_is_exact_to_a_millimetre():
    origin = geo.Origin(46.84, -91.99, 158.5, "test")
    lla = np.array([[46.8427, -91.994, 200.0], [46.8400, -91.990, 158.5]])
    enu = geo.lla_to_enu(lla, origin)
    assert np.allclose(enu[1], 0.0, atol=1e-6)
    assert enu[0, 2] == pytest.approx(41.5, abs=0.05)  # earth curvature over ~300 m
    assert np.allclose(geo.enu_to_lla(enu, origin), lla, atol=1e-8)


def test_origin_sits_on_the_takeoff_ground_when_dji_relative_altitude_is_known():
    flight = _flight(4, relative_altitude=40.0)
    origin = geo.choose_origin(flight)
    assert origin.alt == pytest.approx(np.median([500, 501, 502, 503]) - 40.0)
    assert "RelativeAltitude" in origin.alt_reference
    assert geo.choose_origin(_flight(3, gps=0)) is None


@needs_fixtures
def test_track_histogram_counts_every_point_and_per_image_errors_match_pycolmap(brighton_model):
    hist = track_length_histogram(brighton_model)
    assert sum(hist.values()) == brighton_model.num_points3D()
    errors = image_errors(brighton_model)
    assert len(errors) == 18
    assert sum(e["observations"] for e in errors.values()) == 12448
    assert all(e["mean_error_px"] > 0 for e in errors.values())
    assert np.median([e["mean_error_px"] for e in errors.values()]) < 1.5


@needs_fixtures
def test_gate_passes_a_good_model_and_names_the_images_of_a_broken_one(brighton_model):
    names = sorted(im.name for im in brighton_model.images.values())
    settings = SfmSettings()
    assert check_model(brighton_model, names, settings).ok
    broken = pycolmap.Reconstruction(brighton_model)
    victim = next(im for im in broken.images.values() if im.name == "DJI_0027.JPG")
    for idx, p in enumerate(victim.points2D):
        if p.has_point3D():
            broken.delete_observation(victim.image_id, idx)
    settings = SfmSettings(min_registered_ratio=1.0)
    result = check_model(broken, names + ["DJI_9999.JPG"], settings)
    assert [f.check for f in result.failures] == ["observations_per_image", "registered_ratio"]
    err = gate_error(result, settings, {}, {}, None)
    assert "DJI_0027.JPG" in err.message and "2D-3D correspondences" in err.message
    assert "DJI_9999.JPG" in err.message and "18/19" in err.message
    assert "sfm.min_registered_ratio" in err.hint and "sfm.min_observations_per_image" in err.hint
    assert err.action == "relax_setting:sfm.min_observations_per_image"


@needs_fixtures
def test_gate_fails_on_too_few_points_or_too_large_errors(brighton_model):
    names = sorted(im.name for im in brighton_model.images.values())
    result = check_model(brighton_model, names, SfmSettings(min_points=10_000,
                                                            max_reprojection_error_px=0.1))
    assert len(result.failures) == 2
    assert "4095 3D points" in result.failures[0].message
    assert "reprojection" in result.failures[1].message


@needs_fixtures
def test_gate_fails_when_cameras_are_far_from_their_gps(brighton_model):
    names = sorted(im.name for im in brighton_model.images.values())
    assert check_model(brighton_model, names, SfmSettings(), gps_residual_m=0.6).ok
    failures = check_model(brighton_model, names, SfmSettings(max_gps_residual_m=10.0),
                           gps_residual_m=25.0).failures
    assert [f.message for f in failures] == \
        ["camera centres are 25.0 m from their GPS positions on average (> 10.0 m)"]
    assert failures[0].setting == "sfm.max_gps_residual_m"


def test_gate_fails_when_nothing_registered():
    assert [f.message for f in check_model(pycolmap.Reconstruction(), ["a"],
                                           SfmSettings()).failures] == ["no image was registered"]


@pytest.mark.parametrize("n, gps, matcher, expected", [
    (8, 8, "auto", ("exhaustive",)),
    (40, 40, "auto", ("spatial",)),
    (40, 36, "auto", ("spatial",)),  # plus the 4 without GPS with their capture neighbours
    (40, 0, "auto", ("sequential",)),
    (40, 40, "exhaustive", ("exhaustive",)),
])
def test_matcher_is_chosen_by_the_data(n, gps, matcher, expected):
    plan = plan_matching(_flight(n, gps), SfmSettings(matcher=matcher))
    assert plan.matchers == expected and plan.reason


def test_focal_prior_comes_from_ingest_else_the_35mm_equivalent():
    assert FlightImage("a", 4000, 3000, focal_length_px=2340.0).focal_prior_px == 2340.0
    assert FlightImage("a", 4000, 3000, focal_length_35mm=18.0).focal_prior_px == \
        pytest.approx(2000.0)
    assert FlightImage("a", 4000, 3000).focal_prior_px is None


def test_nadir_fraction_reads_the_gimbal_pitch():
    assert intrinsics.nadir_fraction(_flight(3, gimbal_pitch=-89.9)) == 1.0
    assert intrinsics.nadir_fraction(_flight(3, gimbal_pitch=-45.0)) == 0.0
    assert intrinsics.nadir_fraction(_flight(3)) is None


@needs_fixtures
def test_focal_correction_scales_focal_on_a_copy(brighton_model):
    focal = brighton_model.cameras[1].mean_focal_length()
    rec = intrinsics.correct_focal_by_height(brighton_model, 0.97)
    assert rec.cameras[1].mean_focal_length() == pytest.approx(0.97 * focal)
    assert brighton_model.cameras[1].mean_focal_length() == focal  # the input is untouched


@needs_fixtures
def test_an_altitude_focal_correction_the_images_contradict_is_refused(brighton_model):
    # OpenSfM's focal fits these images; forcing it 10 % shorter raises the reprojection error
    corrected, figures = intrinsics.try_focal_correction(
        brighton_model, 0.9, gps_residual_m=0.4, realign=lambda rec: 0.4)
    assert corrected is None
    assert figures["reprojection_after_px"] > figures["reprojection_before_px"]


def _posed_model(names: list[str]) -> pycolmap.Reconstruction:
    rec = pycolmap.Reconstruction()
    cam = pycolmap.Camera(model="PINHOLE", width=64, height=48, params=[50, 50, 32, 24])
    cam.camera_id = 1
    rec.add_camera_with_trivial_rig(cam)
    for i, name in enumerate(names, start=1):
        rec.add_image_with_trivial_frame(pycolmap.Image(name=name, camera_id=1, image_id=i),
                                         pycolmap.Rigid3d())
    return rec


def test_each_unregistered_image_gets_the_reason_it_fell_out():
    counts = DatabaseCounts(features_per_image={"blank": 0, "lonely": 900, "apart": 900,
                                                "refused": 900, "in": 900},
                            verified_pairs_per_image={"blank": 0, "lonely": 0, "apart": 2,
                                                      "refused": 3, "in": 4})
    models = [_posed_model(["in"]), _posed_model(["apart"])]
    entries = image_entries(["blank", "lonely", "apart", "refused", "in"], models, counts,
                            {"in": 1.5}, ["dropped"], min_num_matches=15)
    assert {n: e["reason"] for n, e in entries.items()} == {
        "blank": "no_features", "lonely": "no_verified_pair", "apart": "in_separate_model",
        "refused": "not_registered_by_mapper", "in": None, "dropped": "excluded"}
    assert entries["in"]["registered"] and entries["in"]["gps_residual_m"] == 1.5
    assert "15 or more" in entries["lonely"]["reason_text"]
    assert entries["dropped"]["reason_text"] == "excluded by the operator"


def test_the_gate_hint_quotes_what_ingest_measured_in_the_images_concerned():
    result = check_model(pycolmap.Reconstruction(), ["a"], SfmSettings())
    result.fail("registered_ratio", "only 1/3 images registered", "sfm.min_registered_ratio",
                ["b", "c"])
    images = {"b": {"reason": "no_features"}, "c": {"reason": "no_verified_pair"}}
    quality = {"b": {"sharpness": 0.05, "exposure_mean": 0.95, "flags": ["blurred",
                                                                          "overexposed"]},
               "c": {"sharpness": 1.2, "exposure_mean": 0.4, "flags": []}}
    hint = gate_error(result, SfmSettings(), images, quality, None).hint
    assert "The check 'registered_ratio' fired (setting sfm.min_registered_ratio, now 0.9)" in hint
    assert "no features: b." in hint and "no verified pair: c." in hint
    assert "Ingest flagged 1 of them" in hint and "b blurred/overexposed (sharpness 0.05" in hint
    assert "--set" not in hint and "spaceport" not in hint  # front-end neutral


def test_the_stage_summary_rounds_its_figures_for_people():
    from app.pipeline.sfm.stage import SfmStage

    outputs = {"registered": 18, "images": 18, "points": 6593,
               "mean_reprojection_error_px": 0.155, "gps_residual_mean_m": 0.4624076349259074}
    assert SfmStage().summary(outputs) == ("18/18 images registered, 6593 points, reprojection "
                                           "error 0.15 px, GPS residual 0.46 m")
    assert SfmStage().summary({**outputs, "gps_residual_mean_m": None}).endswith(
        "0.15 px, not georeferenced")
