"""`spaceport cloud status|cancel PROJECT` from another terminal while a run follows the job."""

from __future__ import annotations

import threading

import pytest

from app.cli import main
from app.pipeline.cloud.offload import train_in_cloud
from app.pipeline.errors import Cancelled
from app.pipeline.stage import StageContext
from cloud_moto import aws, handoff_project, moto_server  # noqa: F401


def test_status_lists_the_running_job_and_cancel_stops_it(aws, handoff_project, capsys):
    project = handoff_project
    outcome: list[BaseException] = []

    def process() -> None:  # what `spaceport process --train-on cloud` runs in its own process
        try:
            train_in_cloud(StageContext(project=project, emit=lambda e: None, stage="train"))
        except BaseException as exc:
            outcome.append(exc)

    runner = threading.Thread(target=process, daemon=True)
    runner.start()
    name = aws.wait_for_job("spaceport-train-")
    aws.set_state(name, "InProgress", "Training")

    assert main(["cloud", "status", str(project.root)]) == 0
    out = capsys.readouterr().out
    assert name in out and "InProgress" in out and "Training" in out

    assert main(["cloud", "cancel", str(project.root)]) == 0
    assert aws.stop_calls == [name]
    runner.join(30)
    assert not runner.is_alive() and isinstance(outcome[0], Cancelled)  # stopped is not success

    assert main(["cloud", "status", str(project.root), "--json"]) == 0
    assert main(["cloud", "status", str(project.root)]) == 0
    assert "Stopped" in capsys.readouterr().out


def test_status_of_a_folder_that_is_not_a_project_fails_with_a_hint(tmp_path, capsys):
    assert main(["cloud", "status", str(tmp_path)]) == 2
    assert "not a Spaceport project" in capsys.readouterr().err


@pytest.mark.parametrize("action", ["status", "cancel"])
def test_a_project_without_cloud_jobs_says_so(aws, handoff_project, capsys, action):
    assert main(["cloud", action, str(handoff_project.root)]) == 0
    captured = capsys.readouterr()
    assert "no cloud jobs" in captured.out or "0 job(s)" in captured.err
