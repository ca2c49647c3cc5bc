"""The project folder: atomic writes, the one-process lock, schema checks, safe locations."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from app.pipeline import atomic
from app.pipeline.errors import ProjectError
from app.pipeline.project import SCHEMA_VERSION, Project


@pytest.fixture
def flight(tmp_path: Path) -> Path:
    folder = tmp_path / "flight"
    folder.mkdir()
    return folder


def test_new_project_has_a_versioned_project_json(tmp_path, flight):
    project = Project.open(tmp_path / "my project é", source=flight)
    data = json.loads(project.paths.project_json.read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["source"] == str(flight)
    assert set(data["settings"]) >= {"ingest", "sfm", "train", "compress", "cloud"}


def test_settings_and_stage_records_survive_a_reload(tmp_path, flight):
    project = Project.open(tmp_path / "p", source=flight)
    project.settings.set("train.preset", "standard")
    project.record("ingest").state = "done"
    project.save()
    again = Project.open(tmp_path / "p")
    assert again.settings.train.preset == "standard"
    assert again.record("ingest").state == "done"


def test_the_same_project_cannot_be_opened_twice(tmp_path, flight):
    first = Project.open(tmp_path / "p", source=flight)
    second = Project.open(tmp_path / "p")
    with first:
        with pytest.raises(ProjectError, match="open in another process") as info:
            second.lock()
        assert "close the other" in info.value.hint
    second.lock()  # released: now it can
    second.unlock()


def test_a_stale_lock_from_a_dead_process_is_taken_over(tmp_path, flight):
    project = Project.open(tmp_path / "p", source=flight)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    import socket
    project.paths.lock.write_text(json.dumps({"pid": int(dead), "host": socket.gethostname()}))
    with project:
        assert json.loads(project.paths.lock.read_text())["pid"] == os.getpid()
    assert not project.paths.lock.exists()


def test_project_inside_the_flight_folder_is_refused(flight):
    with pytest.raises(ProjectError, match="inside the flight folder"):
        Project.open(flight / "project", source=flight)
    assert not (flight / "project").exists()


def test_a_project_folder_given_as_the_flight_is_refused_and_nothing_is_created(tmp_path, flight):
    existing = Project.open(tmp_path / "done", source=flight)
    with pytest.raises(ProjectError, match="is a Spaceport project folder, not a flight") as info:
        Project.open(tmp_path / "new", source=existing.root)
    assert "open it as a project" in info.value.hint and str(existing.root) in str(info.value)
    with pytest.raises(ProjectError, match=f"inside the Spaceport project {existing.root}"):
        Project.open(tmp_path / "new", source=existing.paths.sfm)  # e.g. its undistorted images
    assert not (tmp_path / "new").exists()


def test_a_flight_kept_inside_its_own_project_folder_still_opens(tmp_path):
    images = tmp_path / "survey" / "images"
    images.mkdir(parents=True)
    Project.open(tmp_path / "survey", source=images)
    assert Project.open(tmp_path / "survey", source=images).source == images  # resuming


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_read_only_output_folder_is_refused_with_a_hint(tmp_path, flight):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    with pytest.raises(ProjectError, match="Cannot write"):
        Project.open(ro / "p", source=flight)


def test_read_only_filesystem_is_refused_with_a_hint(tmp_path, flight):
    """Even root cannot write under /proc: the message names the folder and the fix."""
    with pytest.raises(ProjectError) as info:
        Project.open(Path("/proc/spaceport-test"), source=flight)
    assert "/proc/spaceport-test" in str(info.value) and info.value.hint


def test_newer_schema_and_corrupt_json_are_refused_with_a_message(tmp_path, flight):
    project = Project.open(tmp_path / "p", source=flight)
    data = json.loads(project.paths.project_json.read_text())
    project.paths.project_json.write_text(json.dumps({**data, "schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(ProjectError, match="update Spaceport|schema version"):
        Project.open(tmp_path / "p")
    project.paths.project_json.write_text("{not json")
    with pytest.raises(ProjectError, match="unreadable"):
        Project.open(tmp_path / "p")


def test_failed_atomic_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "a.json"
    atomic.write_json(target, {"v": 1})
    with pytest.raises(ValueError):
        atomic.write_json(target, {"v": float("nan")})
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temp file left behind


def test_atomic_writes_give_files_the_usual_permissions_not_mkstemp_s_private_ones(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")  # what any program writing the file directly would leave
    atomic.write_text(tmp_path / "scene.sog", "x")
    assert (tmp_path / "scene.sog").stat().st_mode & 0o777 == plain.stat().st_mode & 0o777


def test_kill_9_during_writes_leaves_a_loadable_project(tmp_path, flight):
    root = tmp_path / "p"
    Project.open(root, source=flight)
    script = textwrap.dedent(f"""
        from app.pipeline.project import Project
        p = Project.open({str(root)!r})
        p.lock()
        i = 0
        while True:
            i += 1
            p.record("ingest").outputs = {{"i": i, "pad": "x" * 200000}}
            p.save()
            if i == 1:
                print("saved", flush=True)
    """)
    for delay in (0.0, 0.05, 0.15):
        proc = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parents[1],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "saved"  # killed while writing, not while starting
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        project = Project.open(root)  # still loads: old or new content, never torn
        with project:  # the dead writer's lock is stale and taken over
            pass
        outputs = project.record("ingest").outputs
        assert outputs["i"] >= 1 and outputs["pad"] == "x" * 200000  # a whole write of this run
    assert not [p.name for p in root.iterdir() if p.name.endswith(".tmp")]  # cleaned when locked
