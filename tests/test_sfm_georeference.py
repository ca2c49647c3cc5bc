"""Georeferencing from measured GPS quality and the gate that tells a broken model from noisy
GPS, on models built from the generator's ground truth (no SfM run: fast and exact)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.pipeline.sfm.gate import run_gate
from app.pipeline.sfm.geo import camera_centres
from app.pipeline.sfm.georeference import georeference, place
from app.pipeline.sfm.matching import plan_matching
from app.pipeline.sfm.separate_models import expected_in_main
from app.pipeline.sfm.settings import SfmSettings
from app.pipeline.synthetic import PRESETS, GpsErrors
from tests.survey_models import (Survey, fold_part, scale_part, shift_part, survey,
                                 true_centres_in)


def placed(s: Survey, settings: SfmSettings = SfmSettings()):
    """Georeference the survey's model; (georef, camera centre errors against the truth)."""
    g = georeference(s.rec, s.flight, settings)
    assert g is not None
    centres = camera_centres(s.rec)
    est = np.array([centres[n] for n in s.names])
    return g, est - true_centres_in(s, g.origin)


def gate(s: Survey, g) -> tuple[list[str], list[str]]:
    result = run_gate(s.rec, s.names, SfmSettings(), g, s.flight.gps_quality)
    return [f.check for f in result.failures], [w.check for w in result.warnings]


def test_exact_gps_places_the_model_to_the_millimetre(tmp_path: Path):
    g, err = placed(survey(tmp_path))
    assert np.abs(err).max() < 1e-3
    assert g.targets.vertical_source == "relative_altitude" and not g.excluded
    assert g.accuracy["position_m"] < 1e-3 and g.accuracy["scale"] < 1e-4


def test_noisy_gps_places_the_model_as_accurately_as_stated(tmp_path: Path):
    g, err = placed(survey(tmp_path, GpsErrors(horizontal_sigma_m=5.0)))
    a = g.accuracy
    offset = np.linalg.norm(err[:, :2].mean(axis=0))
    assert offset < 3 * a["position_m"] * np.sqrt(2)  # 1 sigma per axis, the offset is 2D
    assert 0.4 < a["position_m"] < 2.0  # about 5 m / sqrt(40), neither hidden nor inflated
    true_scale = np.std(err[:, :2]) / 100.0
    assert a["scale"] > 0.003 and true_scale < 3 * a["scale"] + 0.01
    assert np.abs(err[:, 2]).max() < 0.5  # heights from RelativeAltitude stay exact


def test_gps_outliers_are_left_out_and_named_without_moving_the_model(tmp_path: Path):
    s = survey(tmp_path, GpsErrors(horizontal_sigma_m=1.0, outlier_fraction=0.1,
                                   outlier_m=60.0))
    g, err = placed(s)
    jumped = set(s.flight.gps_quality["horizontal"]["outliers"])
    assert len(jumped) == 4 and set(g.excluded) == jumped
    assert np.linalg.norm(err[:, :2].mean(axis=0)) < 1.0
    failures, warnings = gate(s, g)
    assert failures == []  # ingest saw these GPS fixes jump: the model is not blamed


def test_a_drifting_gps_altitude_is_not_trusted_and_the_vertical_comes_from_the_model(tmp_path):
    s = survey(tmp_path, GpsErrors(horizontal_sigma_m=2.0, altitude_drift_m_per_min=20.0,
                                   relative_altitude=False))
    g, err = placed(s)
    assert g.targets.vertical_source == "model" and g.targets.sigma_v is None
    assert np.ptp(err[:, 2]) < 1.0  # level: the 46 m of drift did not tilt the model
    assert g.accuracy["vertical_m"] > 5.0  # the absolute height is as poor as the GPS altitude


def test_rtk_gps_gives_centimetre_accuracy(tmp_path: Path):
    g, err = placed(survey(tmp_path, GpsErrors(rtk=True)))
    assert g.targets.sigma_h == pytest.approx(0.02)
    assert g.accuracy["position_m"] < 0.02 and np.abs(err[:, :2]).max() < 0.1


def test_pose_priors_carry_the_assessed_weights(tmp_path: Path):
    s = survey(tmp_path, GpsErrors(horizontal_sigma_m=5.0, altitude_drift_m_per_min=20.0,
                                   relative_altitude=False))
    from app.pipeline.sfm.geo import choose_origin
    from app.pipeline.sfm.georeference import gps_targets

    targets = gps_targets(s.flight, choose_origin(s.flight), SfmSettings())
    priors = targets.prior_positions()
    position, cov = priors[s.names[0]]
    assert np.sqrt(cov[0, 0]) == pytest.approx(targets.sigma_h) and targets.sigma_h > 3.0
    assert np.sqrt(cov[2, 2]) >= 1e3  # the drifting altitude is left free
    assert len({round(p[2], 6) for p, _ in priors.values()}) == 1  # one height for all


def test_a_noisy_but_sound_model_passes_with_its_accuracy_stated(tmp_path: Path):
    s = survey(tmp_path, PRESETS["consumer"])
    g, _ = placed(s)
    result = run_gate(s.rec, s.names, SfmSettings(), g, s.flight.gps_quality)
    assert result.ok, [f.message for f in result.failures]
    accuracy = next(w.message for w in result.warnings if w.check == "georeference_accuracy")
    assert "position +-" in accuracy and "scale +-" in accuracy and "heading +-" in accuracy


@pytest.mark.parametrize("errors", [GpsErrors(), GpsErrors(horizontal_sigma_m=5.0),
                                    PRESETS["consumer"]], ids=["exact", "noisy", "consumer"])
def test_a_folded_strip_fails_the_gate(tmp_path: Path, errors: GpsErrors):
    s = survey(tmp_path, errors)
    fold_part(s.rec, s.strip(-1), 30.0)
    failures, _ = gate(s, placed(s)[0])
    assert "part_tilt" in failures


@pytest.mark.parametrize("errors", [GpsErrors(), GpsErrors(horizontal_sigma_m=5.0),
                                    PRESETS["consumer"]], ids=["exact", "noisy", "consumer"])
def test_a_group_placed_elsewhere_fails_the_gate(tmp_path: Path, errors: GpsErrors):
    s = survey(tmp_path, errors)
    shift_part(s.rec, s.strip(-1), 60.0)
    failures, _ = gate(s, placed(s)[0])
    assert "misplaced_images" in failures


@pytest.mark.parametrize("errors", [GpsErrors(), GpsErrors(horizontal_sigma_m=5.0)],
                         ids=["exact", "noisy"])
def test_a_part_at_another_scale_fails_the_gate(tmp_path: Path, errors: GpsErrors):
    s = survey(tmp_path, errors)
    scale_part(s.rec, s.strip(-1) + s.strip(-2), 0.6)
    failures, _ = gate(s, placed(s)[0])
    assert "part_scale" in failures


def test_the_failure_names_the_check_its_setting_and_the_images(tmp_path: Path):
    s = survey(tmp_path)
    fold_part(s.rec, s.strip(-1), 30.0)
    result = run_gate(s.rec, s.names, SfmSettings(), placed(s)[0], s.flight.gps_quality)
    finding = next(f for f in result.failures if f.check == "part_tilt")
    assert finding.setting == "sfm.consistency_sigmas"
    assert set(s.strip(-1)) <= set(finding.images)


def test_too_few_images_with_gps_leave_the_model_unplaced(tmp_path: Path):
    s = survey(tmp_path, n_images=8)
    g = georeference(s.rec, s.flight, SfmSettings())
    keep = set(s.names[:2])
    targets = type(g.targets)(**{**g.targets.__dict__, "names": [n for n in g.targets.names
                                                                 if n in keep]})
    assert place(s.rec, g.origin, targets) is None


def test_a_separate_model_inside_the_survey_counts_against_it_and_another_flight_does_not(
        tmp_path: Path):
    s = survey(tmp_path)
    half = s.names[20:]
    membership = [{"model": 0, "images": s.names[:20]}, {"model": 1, "images": half}]
    logs: list[str] = []
    assert expected_in_main(membership, s.names, s.flight, lambda t, _: logs.append(t)) == \
        s.names
    assert "lies within the survey" in logs[0]
    far = survey(tmp_path / "far", n_images=8, seed=9)
    flight = type(s.flight)(s.flight.source, s.flight.images + tuple(
        type(im)(**{**im.__dict__, "file": "far/" + im.file,
                    "gps": (im.gps[0] + 0.02, im.gps[1], im.gps[2])})
        for im in far.flight.images))
    others = ["far/" + n for n in far.names]
    membership = [{"model": 0, "images": s.names}, {"model": 1, "images": others}]
    assert expected_in_main(membership, s.names + others, flight,
                            lambda t, _: logs.append(t)) == s.names
    assert "another flight" in logs[-1]


def test_gps_guided_matching_does_not_depend_on_gps_entering_bundle_adjustment(tmp_path):
    s = survey(tmp_path)
    with_priors = plan_matching(s.flight, SfmSettings(use_gps_prior=True))
    without = plan_matching(s.flight, SfmSettings(use_gps_prior=False))
    assert with_priors.matchers == without.matchers == ("spatial",)
    noisy = survey(tmp_path / "noisy", GpsErrors(horizontal_sigma_m=6.0))
    plan = plan_matching(noisy.flight, SfmSettings())
    assert plan.matchers == ("spatial",) and "noisy" in plan.reason
    assert set(plan.doubtful) == set(noisy.names) and len(plan.capture_pairs) > 40 * 4 - 20
    jumps = survey(tmp_path / "jumps", GpsErrors(outlier_fraction=0.1, outlier_m=60.0))
    plan = plan_matching(jumps.flight, SfmSettings())
    jumped = set(jumps.flight.gps_quality["horizontal"]["outliers"])
    assert jumped and set(plan.doubtful) == jumped  # only those get capture-order pairs
    assert all(set(pair) & jumped for pair in plan.capture_pairs)


@pytest.mark.parametrize("errors, warned", [
    (GpsErrors(horizontal_sigma_m=5.0), True),
    (GpsErrors(horizontal_sigma_m=4.0, horizontal_correlation_s=60.0), True),
    (GpsErrors(altitude_drift_m_per_min=6.0), True),
    (GpsErrors(altitude_offset_m=30.0), False),  # a constant offset cannot be seen
    (GpsErrors(horizontal_sigma_m=1.0, outlier_fraction=0.1), None),
    (GpsErrors(missing_fraction=0.2), False),
    (GpsErrors(relative_altitude=False, altitude_sigma_m=1.0), None),
    (GpsErrors(rtk=True), False),
    (PRESETS["consumer"], True)],
    ids=["noise", "wander", "drift", "offset", "outliers", "missing", "no-relative-altitude",
         "rtk", "consumer"])
def test_every_gps_error_model_passes_with_an_accuracy_that_covers_the_truth(
        tmp_path: Path, errors: GpsErrors, warned: bool | None):
    s = survey(tmp_path, errors)
    g, err = placed(s)
    result = run_gate(s.rec, s.names, SfmSettings(), g, s.flight.gps_quality)
    assert result.ok, [f.message for f in result.failures]
    offset = np.linalg.norm(err[:, :2].mean(axis=0))
    assert offset <= 3 * np.sqrt(2) * g.accuracy["position_m"] + 0.05
    if warned is not None:
        assert any(w.check == "georeference_accuracy" for w in result.warnings) == warned
