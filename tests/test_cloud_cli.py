"""`spaceport cloud status|cancel|resume PROJECT`, and a cloud run stopped by SIGTERM: tracking
detaches, the paid job runs on until a confirmed cancel stops it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.cli import main
from app.pipeline.cloud.offload import train_in_cloud
from app.pipeline.cloud.records import JobBook
from app.pipeline.errors import Cancelled
from app.pipeline.project import Project
from app.pipeline.stage import StageContext
from cloud_moto import (aws, cloud_settings, handoff_project, join_ok, mark_done_until_train,  # noqa: F401
                        moto_server, ply_bytes)

ROOT = Path(__file__).resolve().parents[1]


def test_status_lists_the_running_job_and_cancel_names_it_and_stops_it_only_with_yes(aws, handoff_project,
                                                                                    capsys):
    project = handoff_project
    outcome: list[BaseException] = []

    def process() -> None:  # what `spaceport process --train-on cloud` runs in its own process
        try:
            train_in_cloud(StageContext(project=project, emit=lambda e: None, stage="train",
                                        approve_cost=lambda e: True))
        except BaseException as exc:
            outcome.append(exc)

    runner = threading.Thread(target=process, daemon=True)
    runner.start()
    name = aws.wait_for_job("spaceport-train-")
    aws.set_state(name, "InProgress", "Training")

    assert main(["cloud", "status", str(project.root)]) == 0
    out = capsys.readouterr().out
    assert name in out and "InProgress" in out and "Training" in out

    assert main(["cloud", "cancel", str(project.root)]) == 2  # not a terminal: nothing is stopped
    err = capsys.readouterr().err
    assert name in err and "--yes" in err and aws.stop_calls == []

    assert main(["cloud", "cancel", str(project.root), "--yes"]) == 0
    assert aws.stop_calls == [name]
    runner.join(30)
    assert not runner.is_alive() and isinstance(outcome[0], Cancelled)  # stopped is not success

    assert main(["cloud", "status", str(project.root), "--json"]) == 0
    assert main(["cloud", "status", str(project.root)]) == 0
    assert "Stopped" in capsys.readouterr().out


def test_status_of_a_folder_that_is_not_a_project_fails_with_a_hint(tmp_path, capsys):
    assert main(["cloud", "status", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not a Spaceport project" in err and "spaceport process FLIGHT_DIR -o PROJECT" in err


@pytest.mark.parametrize("action", ["status", "cancel"])
def test_a_project_without_cloud_jobs_says_so(aws, handoff_project, capsys, action):
    assert main(["cloud", action, str(handoff_project.root)]) == 0
    captured = capsys.readouterr()
    assert "no cloud jobs" in captured.out or "no running cloud jobs" in captured.err


def _events(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines if line.startswith("{")]


def _detach_with(aws, project, signum: int) -> str:
    """Run `process --train-on cloud --json --yes` in a child, signal it once its job trains;
    the job's name."""
    project.settings.train.where = "cloud"
    cloud_settings(project, compress_where="local")
    mark_done_until_train(project)
    child = subprocess.Popen([sys.executable, "-m", "app", "process", "-o", str(project.root), "--until",
                              "train", "--json", "--yes"], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    name = aws.wait_for_job("spaceport-train-", timeout=120)
    aws.set_state(name, "InProgress", "Training")
    lines: list[str] = []
    for line in child.stdout:  # the window reads these; it stops the child with SIGTERM
        lines.append(line)
        event = json.loads(line)
        if event["type"] == "CloudJobStatus" and event["secondary_status"] == "Training":
            child.send_signal(signum)
            break
    lines += child.stdout.readlines()
    assert child.wait(60) == 130, child.stderr.read()[-2000:]
    failed = [e for e in _events(lines) if e["type"] == "StageFailed"]
    assert failed and failed[-1]["cancelled"] and failed[-1]["action"] == "resume"
    assert aws.stop_calls == [] and aws.job(name).training_job_status == "InProgress"
    assert [j.status for j in JobBook.load(project.paths.cloud_jobs).jobs] == ["InProgress"]
    return name


def test_ctrl_c_during_cloud_training_leaves_the_job_running(aws, handoff_project):
    _detach_with(aws, handoff_project, signal.SIGINT)
    assert "runs on" in Project.open(handoff_project.root, create=False).record("train").hint


def test_sigterm_during_cloud_training_detaches_and_cloud_resume_follows_the_job_to_the_end(
        aws, handoff_project, capsys):
    project = handoff_project
    name = _detach_with(aws, project, signal.SIGTERM)
    record = Project.open(project.root, create=False).record("train")
    assert record.state == "cancelled" and "runs on" in record.hint

    summary = json.dumps({"splats": "splats.ply", "num_gaussians": 50, "steps": 20}).encode()
    script = aws.in_background(lambda: (time.sleep(0.5), aws.complete(name, {"splats.ply": ply_bytes()},
                                                                      {"summary.json": summary})))
    assert main(["cloud", "resume", str(project.root)]) == 0  # no --yes needed: nothing new is paid for
    join_ok(script)
    reopened = Project.open(project.root, create=False)
    assert reopened.record("train").state == "done" and reopened.record("compress").state == "done"
    assert list(aws.backend().training_jobs) == [name] and aws.stop_calls == []
    assert "50 Gaussians" in capsys.readouterr().err
