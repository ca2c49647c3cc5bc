"""The OpenSfM export reader on the real OpenSfM outputs in ../shared/fixtures/opensfm_*."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.pipeline.errors import StageError
from app.pipeline.sfm.opensfm import config_yaml, opensfm_available, run_opensfm
from app.pipeline.sfm.opensfm_export import read_opensfm_export, read_text_model, write_text_model
from app.pipeline.sfm.settings import SfmSettings
from app.pipeline.sfm.validate import check_model
from tests.sfm_helpers import FIXTURES

pytestmark = pytest.mark.skipif(not (FIXTURES / "opensfm_brighton").is_dir(),
                                reason="../shared/fixtures absent")

# counts from the fixtures' READMEs
EXPECTED = {"brighton": dict(images=18, points=4095, observations=12448, out_of_range=10617),
            "berlin": dict(images=3, points=1631, observations=3604, out_of_range=2905)}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_opensfm_export_is_repaired_and_loads_with_the_readme_counts(name: str):
    rec, report = read_opensfm_export(FIXTURES / f"opensfm_{name}" / "colmap_export")
    want = EXPECTED[name]
    assert rec.num_reg_images() == want["images"]
    assert rec.num_points3D() == want["points"]
    assert rec.compute_num_observations() == want["observations"]
    # quirk 1: original feature ids in the tracks, detected and re-indexed by rank
    assert report.track_elements == want["observations"]
    assert report.out_of_range == want["out_of_range"]
    assert report.reindexed
    # quirk 3: zero errors, recomputed
    assert report.zero_errors
    assert all(p.error > 0 for p in rec.points3D.values())
    # quirk 2: the half-pixel offset, detected because +0.5 lowers the error
    assert report.half_pixel_shift
    assert report.error_with_shift_px < report.error_without_shift_px
    assert check_model(rec, sorted(im.name for im in rec.images.values()),
                       SfmSettings(max_reprojection_error_px=2.0)).ok


def test_a_consistent_export_is_left_alone(tmp_path: Path):
    rec, _ = read_opensfm_export(FIXTURES / "opensfm_berlin" / "colmap_export")
    rec.write_text(str(tmp_path))
    again, report = read_opensfm_export(tmp_path)
    assert not report.reindexed and report.inconsistent_before == 0
    assert again.num_points3D() == rec.num_points3D()


def test_an_export_whose_tracks_cannot_be_rebuilt_fails_loudly(tmp_path: Path):
    model = read_text_model(FIXTURES / "opensfm_berlin" / "colmap_export")
    image = next(iter(model.images.values()))
    image.xy, image.point3d_ids = image.xy[:-5], image.point3d_ids[:-5]  # lose 5 POINTS2D rows
    write_text_model(model, tmp_path)
    with pytest.raises(StageError, match="cannot be rebuilt"):
        read_opensfm_export(tmp_path)


def test_opensfm_backend_says_clearly_when_opensfm_is_not_installed(tmp_path: Path):
    if opensfm_available():
        pytest.skip("OpenSfM is installed here")
    with pytest.raises(StageError, match="OpenSfM is not installed"):
        run_opensfm(None, None)  # type: ignore[arg-type]


def test_opensfm_config_uses_gps_only_when_the_flight_has_it():
    from app.pipeline.sfm.flight import Flight, FlightImage

    with_gps = Flight(Path("."), (FlightImage("a.jpg", 10, 10, gps=(1.0, 2.0, 3.0)),))
    without = Flight(Path("."), (FlightImage("a.jpg", 10, 10),))
    assert "bundle_use_gps: yes" in config_yaml(with_gps, 2)
    assert "bundle_use_gps: no" in config_yaml(without, 2)
