"""The SfM stage end to end: `process --until sfm` on the sample flight, reuse, cancel, missing
GPS, the gate failing, and `--sfm-from` imports (brighton runs when ../shared/data is present)."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pycolmap
import pytest

from app.cli import main
from app.pipeline.events import Event, Log, Progress, SfmStats, StageFinished, event_from_dict
from app.pipeline.project import Project
from app.pipeline.runner import Runner
from app.pipeline.sfm import geo
from app.pipeline.stage import CancelToken
from app.pipeline.stages import default_stages
from tests.sfm_helpers import BRIGHTON, FIXTURES, drop_gps, run_sfm

needs_brighton = pytest.mark.skipif(not BRIGHTON.is_dir(),
                                    reason="../shared/data/brighton_beach absent")


def process(*args: str) -> tuple[int, list[Event]]:
    """`spaceport process ... --json` in-process; returns the exit code and the events."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["process", *args, "--json"])
    return code, [event_from_dict(json.loads(line)) for line in out.getvalue().splitlines()
                  if line.startswith("{")]


def logs(events: list[Event]) -> str:
    """Every Log line of the sfm stage, one per line."""
    return "\n".join(e.text for e in events if isinstance(e, Log) and e.stage == "sfm")


@pytest.fixture(scope="module")
def done(sample_flight: Path, tmp_path_factory: pytest.TempPathFactory):
    """The sample flight processed until sfm once: (project folder, exit code, events)."""
    root = tmp_path_factory.mktemp("sfm project") / "p"
    code, events = process(str(sample_flight), "-o", str(root), "--until", "sfm")
    return root, code, events


@pytest.fixture
def copy(done, tmp_path: Path) -> Project:
    """A private copy of the finished project (features and matches included)."""
    root = tmp_path / "copy"
    shutil.copytree(done[0], root)
    return Project.open(root, create=False)


def test_process_until_sfm_hands_off_a_validated_georeferenced_pinhole_model(done):
    root, code, _ = done
    assert code == 0
    paths = Project.open(root, create=False).paths
    model = pycolmap.Reconstruction(str(paths.sfm_model))
    assert model.num_reg_images() == 12 and model.num_points3D() > 500
    assert {c.model.name for c in model.cameras.values()} == {"PINHOLE"}
    assert len(list(paths.sfm_images.iterdir())) == 12
    assert (paths.sfm_sparse / "0" / "points3D.bin").exists() and paths.sfm_database.exists()
    geo_doc = json.loads(paths.geo_json.read_text())
    assert geo_doc["georeferenced"] and geo_doc["crs"] == "ENU" and geo_doc["units"] == "m"
    assert set(geo_doc["origin"]) == {"lat", "lon", "alt"}
    assert geo_doc["gps_residual_m"]["mean"] < 1.0
    stats = json.loads(paths.sfm_stats.read_text())
    for key in ("images_with_features", "mean_features", "features_per_image", "matched_pairs",
                "inlier_matches", "registered_images", "points", "mean_track_length",
                "mean_reprojection_error", "track_length_histogram", "images", "focal"):
        assert key in stats, key
    assert all(im["registered"] and im["observations"] > 0 and im["reason"] is None
               for im in stats["images"].values())
    entry = next(iter(stats["images"].values()))
    assert set(entry) == {"registered", "features", "observations", "mean_error_px",
                          "gps_residual_m", "reason", "reason_text"}
    assert entry["features"] > 0 and entry["gps_residual_m"] < 1.0
    assert stats["gate"] == {"passed": True, "failures": [], "warnings": stats["gate"]["warnings"]}
    assert {"extraction", "matching", "mapping", "alignment", "focal_check", "writing", "gate",
            "undistortion"} <= set(stats["timings_s"])
    assert stats["exif_pose_priors"] == 12  # the synthetic JPEGs' EXIF GPS reaches pycolmap


def test_camera_positions_match_the_ground_truth_within_1_percent_of_the_extent(
        done, sample_flight: Path):
    paths = Project.open(done[0], create=False).paths
    truth = json.loads((sample_flight / "ground_truth.json").read_text())
    ours = geo.Origin(**json.loads(paths.geo_json.read_text())["origin"], alt_reference="")
    gt_origin = geo.Origin(**truth["origin"], alt_reference="")
    true_enu = geo.lla_to_enu(geo.enu_to_lla(
        np.array([im["position_enu"] for im in truth["images"]]), gt_origin), ours)
    centres = geo.camera_centres(pycolmap.Reconstruction(str(paths.sfm_model)))
    est = np.array([centres[im["file"]] for im in truth["images"]])
    assert np.linalg.norm(est - true_enu, axis=1).max() < 0.01 * truth["scene"]["extent_m"]


def test_sfm_statistics_arrive_while_it_runs(done):
    stats = [e for e in done[2] if isinstance(e, SfmStats)]
    phases = [e.phase for e in stats]
    assert "features" in phases and "matching" in phases and phases[-1] == "final"
    mapping = [e.registered_images for e in stats if e.phase == "mapping"]
    assert mapping and mapping == sorted(mapping) and mapping[0] >= 2
    assert stats[-1].registered_images == 12 and stats[-1].track_length_histogram
    messages = [e.message for e in done[2] if isinstance(e, Progress) and e.stage == "sfm"]
    assert "extracting features: 8/12 images" in messages  # a few images per pycolmap call
    assert "extracting features: 12/12 images" in messages
    assert "matching: 66/66 pairs" in messages  # 12 images: every pair
    assert any(m.startswith("mapping: ") and m.endswith("/12 images registered") for m in messages)


def test_a_rerun_with_a_changed_gate_setting_reuses_features_and_matches(copy: Project):
    ok, events = run_sfm(copy, min_points=100)
    assert ok
    assert "reusing the extracted features" in logs(events)
    assert "reusing the matches" in logs(events)


def test_gps_guides_matching_even_when_it_stays_out_of_bundle_adjustment(copy: Project):
    ok, _ = run_sfm(copy, use_gps_prior=False, matcher="spatial", spatial_neighbors=4)
    assert ok, copy.record("sfm").reason
    stats = json.loads(copy.paths.sfm_stats.read_text())
    assert stats["matching"]["matchers"] == ["spatial"] and not stats["gps_priors_in_mapping"]
    assert 12 <= stats["matched_pairs"] <= 12 * 4 and stats["registered_images"] == 12


def test_cancel_while_mapping_leaves_a_project_that_resumes(copy: Project):
    cancel = CancelToken()
    copy.settings.sfm.min_points = 101  # makes sfm stale so it runs again

    def sink(event: Event) -> None:
        if isinstance(event, SfmStats) and event.phase == "mapping":
            cancel.cancel()

    from app.pipeline.runner import Runner
    from app.pipeline.stages import default_stages

    with copy:
        assert not Runner(copy, default_stages(), emit=sink, cancel=cancel).run(until="sfm")
    assert copy.record("sfm").state == "cancelled"
    ok, events = run_sfm(copy)
    assert ok and "reusing the matches" in logs(events)


def test_global_mapping_is_an_option_and_goes_through_the_same_gate(copy: Project):
    ok, events = run_sfm(copy, mapper="global")
    assert ok, copy.record("sfm").reason
    stats = json.loads(copy.paths.sfm_stats.read_text())
    assert stats["mapper"] == "global" and stats["registered_images"] == 12
    assert stats["gps_residual_m"] < 1.0


def test_missing_gps_gives_an_unreferenced_model_with_a_warning(copy: Project):
    drop_gps(copy)
    copy.settings.sfm.min_points = 102
    ok, events = run_sfm(copy)
    assert ok
    assert "not be georeferenced" in logs(events)
    assert json.loads(copy.paths.geo_json.read_text())["georeferenced"] is False


def test_a_model_failing_the_gate_stops_the_stage_with_the_reason(copy: Project):
    code, events = process(str(copy.source), "-o", str(copy.root), "--from", "sfm",
                           "--until", "sfm", "--set", "sfm.min_points=1000000")
    assert code == 1
    record = Project.open(copy.root, create=False).record("sfm")
    assert record.state == "failed" and "3D points (< 1000000)" in record.reason
    assert "The check 'points' fired (setting sfm.min_points, now 1000000)" in record.hint
    stats = json.loads(copy.paths.sfm_stats.read_text())  # written although the gate failed
    assert stats["gate"]["passed"] is False
    assert [f["check"] for f in stats["gate"]["failures"]] == ["points"]
    assert all(im["registered"] for im in stats["images"].values())


def test_a_flight_folder_gone_after_sfm_keeps_ingest_and_sfm_done_so_training_can_start(
        sample_flight: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    card = tmp_path / "card" / "DCIM"
    shutil.copytree(sample_flight, card)
    root = tmp_path / "project"
    assert process(str(card), "-o", str(root), "--until", "sfm")[0] == 0
    card.rename(tmp_path / "card" / "unplugged")  # the SD card is out of the reader

    code, events = process("-o", str(root), "--until", "sfm")  # what Run does up to SfM
    assert code == 0
    assert [(e.stage, e.skipped) for e in events if isinstance(e, StageFinished)] == [
        ("ingest", True), ("sfm", True)]
    [warning] = [e.text for e in events if isinstance(e, Log) and e.level == "warning"]
    assert f"the flight folder {card} is missing" in warning
    assert "ingest and SfM cannot run again until it is back" in warning
    project = Project.open(root, create=False)
    runner = Runner(project, default_stages(), emit=lambda e: None)
    assert runner.refresh_states()["sfm"] == "done"
    assert [s.name for s in runner.plan()][0] == "train"  # training starts from sfm/ alone
    capsys.readouterr()
    assert main(["status", str(root)]) == 0
    assert f"warning: the flight folder {card} is missing" in capsys.readouterr().out

    code, _ = process("-o", str(root), "--from", "sfm", "--until", "sfm")  # SfM must really run
    assert code == 1
    record = Project.open(root, create=False).record("sfm")
    assert "does not exist" in record.reason and "reconnect the drive that holds it" in record.hint
    assert "spaceport" not in record.hint  # the window words its own next step

    (tmp_path / "card" / "unplugged").rename(card)  # back in the reader: ingest is still current
    assert process("-o", str(root), "--until", "sfm")[0] == 0
    assert Project.open(root, create=False).record("ingest").run_id == project.record(
        "ingest").run_id


def test_sfm_from_imports_a_colmap_model_through_the_same_gate(done, sample_flight: Path,
                                                               tmp_path: Path):
    source = Project.open(done[0], create=False).paths.sfm_sparse / "0"
    code, events = process(str(sample_flight), "-o", str(tmp_path / "p"), "--until", "sfm",
                           "--sfm-from", str(source))
    assert code == 0
    stats = json.loads((tmp_path / "p" / "sfm" / "stats.json").read_text())
    assert stats["imported_from"] == str(source) and stats["registered_images"] == 12


def test_sfm_from_a_broken_model_fails_naming_the_image(done, sample_flight: Path,
                                                        tmp_path: Path):
    rec = pycolmap.Reconstruction(str(Project.open(done[0], create=False).paths.sfm_sparse / "0"))
    victim = sorted(rec.images.values(), key=lambda im: im.name)[3]
    for idx, p in enumerate(victim.points2D):
        if p.has_point3D():
            rec.delete_observation(victim.image_id, idx)
    (tmp_path / "broken").mkdir()
    rec.write(str(tmp_path / "broken"))
    code, _ = process(str(sample_flight), "-o", str(tmp_path / "p"), "--until", "sfm",
                      "--sfm-from", str(tmp_path / "broken"))
    assert code == 1
    reason = Project.open(tmp_path / "p", create=False).record("sfm").reason
    assert victim.name in reason and "2D-3D correspondences" in reason


def test_sfm_from_a_folder_without_a_model_says_what_to_pass(sample_flight: Path,
                                                             tmp_path: Path):
    (tmp_path / "empty").mkdir()
    code, _ = process(str(sample_flight), "-o", str(tmp_path / "p"), "--until", "sfm",
                      "--sfm-from", str(tmp_path / "empty"))
    assert code == 1
    assert "No COLMAP model" in Project.open(tmp_path / "p", create=False).record("sfm").reason


@pytest.mark.slow
@needs_brighton
def test_brighton_registers_all_18_with_a_trustworthy_focal_length(tmp_path: Path):
    code, events = process(str(BRIGHTON), "-o", str(tmp_path / "p"), "--until", "sfm")
    assert code == 0, logs(events)
    stats = json.loads((tmp_path / "p" / "sfm" / "stats.json").read_text())
    assert stats["registered_images"] == 18
    assert stats["mean_reprojection_error"] < 1.0 and stats["gps_residual_m"] < 1.0
    focal = next(iter(stats["focal"]["cameras"].values()))["focal_px"]
    assert focal == pytest.approx(2381, rel=0.02)  # OpenSfM's value (fixture README)


@needs_brighton
def test_an_opensfm_dataset_imports_through_the_repairs_and_the_gate(tmp_path: Path):
    dataset = tmp_path / "opensfm"
    shutil.copytree(FIXTURES / "opensfm_brighton", dataset)
    (dataset / "images").symlink_to(BRIGHTON)
    code, events = process(str(BRIGHTON), "-o", str(tmp_path / "p"), "--until", "sfm",
                           "--sfm-from", str(dataset))
    assert code == 0, logs(events)
    stats = json.loads((tmp_path / "p" / "sfm" / "stats.json").read_text())
    assert stats["opensfm_repairs"]["reindexed"] and stats["points"] == 4095
    assert stats["gps_residual_m"] < 1.0
