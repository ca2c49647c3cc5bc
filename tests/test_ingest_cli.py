"""`spaceport ingest`: flight.json, the validation report, and every bad input the operator may bring."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import BRIGHTON, needs_brighton
from ingest_files import make_flight, make_jpeg

from app.cli import main
from app.pipeline.project import ProjectPaths


def ingest(flight: Path, project: Path, *extra: str) -> int:
    return main(["ingest", str(flight), "-o", str(project), *extra])


def load(project: Path) -> tuple[dict, dict]:
    paths = ProjectPaths(project)
    flight = json.loads(paths.flight_json.read_text()) if paths.flight_json.exists() else None
    return flight, json.loads(paths.ingest_report.read_text())


def test_a_clean_flight_is_ingested_with_geometry_in_the_report(tmp_path, capsys):
    make_flight(tmp_path / "flight", n=6, step_m=10.0)
    assert ingest(tmp_path / "flight", tmp_path / "p") == 0
    flight, report = load(tmp_path / "p")
    assert flight["schema_version"] == 1 and flight["source"] == str((tmp_path / "flight").absolute())
    assert [im["file"] for im in flight["images"]] == [f"IMG_{i:04d}.JPG" for i in range(6)]
    assert all(im["usable"] for im in flight["images"])
    assert report["images_usable"] == 6 and report["gps"]["coverage"] == 1.0
    assert report["extent"]["north_south_m"] == pytest.approx(50.0, rel=1e-3)
    assert report["extent"]["east_west_m"] == pytest.approx(0.0, abs=1e-6)
    f_px = 3.61 / 6.17 * 96
    assert report["gsd_cm_per_px"]["median"] == pytest.approx(40.0 / f_px * 100)
    footprint_along_track = 54 * 40.0 / f_px  # image height (rows) points north, the way it flies
    assert report["forward_overlap"]["median"] == pytest.approx(1 - 10.0 / footprint_along_track, rel=1e-3)
    out = capsys.readouterr().out
    assert "6/6 images usable, GPS 100%, DJI FC300S 96x54" in out and "forward overlap" in out


def test_unusable_images_are_skipped_with_a_reason_when_enough_remain(tmp_path, capsys):
    flight = tmp_path / "flight"
    make_flight(flight, n=4)
    (flight / "empty.jpg").write_bytes(b"")
    (flight / "text.jpg").write_text("not a picture")
    data = (flight / "IMG_0000.JPG").read_bytes()
    (flight / "truncated.jpg").write_bytes(data[: len(data) * 2 // 3])
    make_jpeg(flight / "no_gps.jpg", lat=None, lon=None)
    assert ingest(flight, tmp_path / "p") == 0
    flight_json, report = load(tmp_path / "p")
    reasons = {u["file"]: u["reason"] for u in report["unusable"]}
    assert set(reasons) == {"empty.jpg", "text.jpg", "truncated.jpg"}
    assert "0 bytes" in reasons["empty.jpg"] and "truncated" in reasons["truncated.jpg"]
    assert report["gps"]["missing"] == 1 and report["gps"]["coverage"] == pytest.approx(4 / 5)
    assert len(flight_json["images"]) == 8 and sum(im["usable"] for im in flight_json["images"]) == 5
    captured = capsys.readouterr()
    assert "skipped text.jpg: not an image" in captured.err
    assert "unusable images (3):" in captured.out and "empty.jpg: empty file" in captured.out


def test_too_few_usable_images_fails_listing_each_file(tmp_path, capsys):
    flight = tmp_path / "flight"
    make_jpeg(flight / "ok.jpg")
    (flight / "zero.jpg").write_bytes(b"")
    (flight / "junk.jpeg").write_text("junk")
    assert ingest(flight, tmp_path / "p") == 1
    err = capsys.readouterr().err
    assert "Only 1 of 3 images" in err and "at least 3 are needed" in err
    assert "zero.jpg: empty file" in err and "junk.jpeg: not an image" in err
    assert "fix: fix or replace the files listed" in err and "or lower ingest.min_images" in err
    flight_json, report = load(tmp_path / "p")
    assert flight_json is None and report["images_usable"] == 1


def test_no_usable_image_fails_without_suggesting_a_lower_minimum(tmp_path, capsys):
    flight = tmp_path / "flight"
    flight.mkdir()
    (flight / "zero.jpg").write_bytes(b"")
    (flight / "junk.jpeg").write_text("junk")
    assert ingest(flight, tmp_path / "p") == 1
    err = capsys.readouterr().err
    assert "None of the 2 images" in err and "is usable" in err
    assert "fix: fix or replace the files listed" in err and "min_images" not in err


def test_an_empty_folder_fails_naming_it(tmp_path, capsys):
    (tmp_path / "flight").mkdir()
    assert ingest(tmp_path / "flight", tmp_path / "p") == 1
    err = capsys.readouterr().err
    assert f"The flight folder {(tmp_path / 'flight').absolute()} is empty" in err
    assert "fix: copy the drone's JPEG or TIFF images into it" in err


def test_a_folder_without_images_fails_naming_what_it_holds(tmp_path, capsys):
    (tmp_path / "flight").mkdir()
    (tmp_path / "flight" / "flight.mp4").write_bytes(b"\0" * 100)
    (tmp_path / "flight" / "log.txt").write_text("x")
    assert ingest(tmp_path / "flight", tmp_path / "p") == 1
    err = capsys.readouterr().err
    assert "No images in the flight folder" in err and "flight.mp4, log.txt" in err


def test_a_missing_flight_folder_is_a_usage_error(tmp_path, capsys):
    assert ingest(tmp_path / "nowhere", tmp_path / "p") == 2
    assert "does not exist" in capsys.readouterr().err


def test_mixed_cameras_keep_the_main_camera_unless_told_to_keep_all_or_to_fail(tmp_path, capsys):
    flight = tmp_path / "flight"
    make_flight(flight, n=4)
    make_jpeg(flight / "other.jpg", make="Canon", model="EOS R", size=(120, 80))
    assert ingest(flight, tmp_path / "p") == 0
    _, report = load(tmp_path / "p")
    assert report["mixed_cameras"] and report["cameras"] == {"DJI FC300S 96x54": 4, "Canon EOS R 120x80": 1}
    [skipped] = report["unusable"]
    assert skipped["file"] == "other.jpg" and "not the flight's main camera DJI FC300S" in skipped["reason"]
    assert "ingest.mixed_cameras=keep" in skipped["reason"]
    assert "mixed cameras" in capsys.readouterr().err
    assert ingest(flight, tmp_path / "p", "--set", "ingest.mixed_cameras=keep") == 0
    assert load(tmp_path / "p")[1]["images_usable"] == 5
    capsys.readouterr()
    assert ingest(flight, tmp_path / "p", "--set", "ingest.mixed_cameras=fail") == 1
    err = capsys.readouterr().err
    assert "mixes cameras: DJI FC300S 96x54 (4 images), Canon EOS R 120x80 (1 image)" in err
    assert "process each camera's images as their own flight" in err


def test_exact_duplicates_are_skipped_keeping_the_first(tmp_path):
    flight = tmp_path / "flight"
    paths = make_flight(flight, n=4)
    shutil.copy(paths[1], flight / "IMG_0001 copy.JPG")
    os.link(paths[1], flight / "IMG_0001_link.JPG")
    assert ingest(flight, tmp_path / "p") == 0
    _, report = load(tmp_path / "p")
    assert report["duplicates"] == [["IMG_0001 copy.JPG", "IMG_0001.JPG", "IMG_0001_link.JPG"]]
    assert {u["file"] for u in report["unusable"]} == {"IMG_0001.JPG", "IMG_0001_link.JPG"}
    assert "exact duplicate of IMG_0001 copy.JPG" in report["unusable"][0]["reason"]


def test_oblique_images_are_left_out_of_gsd_and_overlap(tmp_path):
    flight = tmp_path / "flight"
    make_flight(flight, n=4)
    make_jpeg(flight / "IMG_0001.JPG", pitch=-30.0, time="2024:05:01 10:00:01")
    assert ingest(flight, tmp_path / "p") == 0
    _, report = load(tmp_path / "p")
    assert report["oblique_images"] == 1 and report["images_usable"] == 4
    assert report["forward_overlap"]["pairs"] == 2
    assert any("1 oblique image(s)" in w for w in report["warnings"])


def test_a_flight_without_gps_is_ingested_with_a_warning_and_no_geometry(tmp_path, capsys):
    make_flight(tmp_path / "flight", n=3, lat=None, lon=None)
    assert ingest(tmp_path / "flight", tmp_path / "p") == 0
    _, report = load(tmp_path / "p")
    assert report["gps"]["coverage"] == 0 and report["extent"] is None and report["forward_overlap"] is None
    assert "not placed on the map" in capsys.readouterr().err


def test_require_gps_skips_images_without_a_position(tmp_path):
    flight = tmp_path / "flight"
    make_flight(flight, n=3)
    make_jpeg(flight / "nogps.jpg", lat=None, lon=None)
    assert ingest(flight, tmp_path / "p", "--set", "ingest.require_gps=true") == 0
    _, report = load(tmp_path / "p")
    assert [u["file"] for u in report["unusable"]] == ["nogps.jpg"]


def test_paths_with_spaces_and_non_ascii_characters_work(tmp_path):
    flight = tmp_path / "vol de drône été" / "Ordner mit Lücken"
    make_flight(flight, n=3)
    project = tmp_path / "projet à Zürich"
    assert ingest(flight, project) == 0
    flight_json, _ = load(project)
    assert flight_json["source"] == str(flight.absolute()) and len(flight_json["images"]) == 3


def test_a_changed_flight_folder_reruns_ingest_and_an_unchanged_one_skips_it(tmp_path, capsys):
    flight = tmp_path / "flight"
    make_flight(flight, n=3)
    assert ingest(flight, tmp_path / "p") == 0
    capsys.readouterr()
    assert ingest(flight, tmp_path / "p") == 0
    assert "[ingest] already done" in capsys.readouterr().err
    make_jpeg(flight / "late.jpg")
    assert ingest(flight, tmp_path / "p") == 0
    assert "[ingest] done" in capsys.readouterr().err
    assert load(tmp_path / "p")[1]["images_total"] == 4


def test_json_flag_prints_events_as_json_lines(tmp_path, capsys):
    make_flight(tmp_path / "flight", n=3)
    assert ingest(tmp_path / "flight", tmp_path / "p", "--json") == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0]["type"] == "StageStarted" and events[-1]["type"] == "StageFinished"
    assert any(e["type"] == "Progress" for e in events)
    assert events[-1]["outputs"]["usable"] == 3


@needs_brighton()
def test_the_real_brighton_beach_flight(tmp_path, capsys):
    assert ingest(BRIGHTON, tmp_path / "p") == 0
    _, report = load(tmp_path / "p")
    assert report["images_usable"] == 18 and report["cameras"] == {"DJI FC300S 4000x2250": 18}
    assert report["gsd_cm_per_px"]["median"] == pytest.approx(40.1 / (3.61 / 6.17 * 4000) * 100, rel=1e-3)
    assert 0.5 < report["forward_overlap"]["median"] < 0.9
    assert "18/18 images usable" in capsys.readouterr().out


def test_the_synthetic_sample_flight(sample_flight, tmp_path):
    flight = sample_flight
    assert ingest(flight, tmp_path / "p") == 0
    flight_json, report = load(tmp_path / "p")
    truth = json.loads((flight / "ground_truth.json").read_text())
    assert report["images_usable"] == len(truth["images"]) and report["gps"]["coverage"] == 1.0
    assert not report["mixed_cameras"] and not report["duplicates"]
    assert report["forward_overlap"]["median"] == pytest.approx(truth["scene"]["overlap_forward"], abs=0.03)
    assert flight_json["images"][0]["focal_length_px"] == pytest.approx(truth["camera"]["fx"], rel=0.01)


def test_cancel_while_reading_headers_leaves_a_resumable_project(tmp_path):
    from app.pipeline.events import Progress
    from app.pipeline.project import Project
    from app.pipeline.runner import Runner
    from app.pipeline.stage import CancelToken
    from app.pipeline.stages import default_stages

    make_flight(tmp_path / "flight", n=3)
    project = Project.open(tmp_path / "p", source=tmp_path / "flight")
    cancel = CancelToken()

    def stop_at_first_progress(event):
        if isinstance(event, Progress):
            cancel.cancel()

    with project:
        runner = Runner(project, default_stages(), emit=stop_at_first_progress, cancel=cancel)
        assert not runner.run(until="ingest")
    assert project.record("ingest").state == "cancelled"
    assert not project.paths.flight_json.exists()
    assert ingest(tmp_path / "flight", tmp_path / "p") == 0
    assert len(load(tmp_path / "p")[0]["images"]) == 3
