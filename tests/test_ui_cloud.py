"""The Cloud tab over the emulated AWS (moto's server; SageMaker's part played by the test):
validation, the preflight checklist, the estimate approved or declined before any upload, the
job followed by the window's `spaceport process` child (transfer, status, log, charts, jobs
list), Stop only after a confirmation naming the job and its cost so far, and a closed window
that detaches and, reopened, follows the job again."""

from __future__ import annotations

import json
import os
import threading
import time

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtWidgets import QLabel, QPushButton

from app.pipeline.cloud.logs import format_event
from app.pipeline.cloud.preflight import checklist
from app.pipeline.events import TrainMetrics
from app.pipeline.project import Project
from app.pipeline.runner import Runner
from app.pipeline.stages import default_stages
from app.ui.cloud_panel_model import JobView, elapsed_s, validate
from app.ui.main_window import MainWindow
from cloud_moto import (BUCKET, REGION, ROLE, TRAIN_IMAGE, MotoAws, aws,  # noqa: F401
                        cloud_settings, handoff_project, moto_server, ply_bytes)
from tests.ui_runs import RUN_MS, answer_next_question

WAIT_MS = RUN_MS  # the run is a child process: its start-up alone takes seconds on busy cores


def metrics(steps: tuple[int, ...], total: int = 100) -> list[str]:
    return [format_event(TrainMetrics(stage="train", step=s, total_steps=total, loss=1.0 / s,
                                      psnr=20.0 + s / 10, num_gaussians=1000 + s)) for s in steps]


def play_training(aws: MotoAws, release: threading.Event, complete: bool) -> str:
    """SageMaker's side: the job starts, trains and logs metrics; once `release` is set it
    completes with a model (or is left for the test to stop)."""
    name = aws.wait_for_job("spaceport-train-")
    aws.set_state(name, "InProgress", "Downloading")
    time.sleep(0.3)
    aws.set_state(name, "InProgress", "Training")
    aws.put_logs(name, ["reading the hand-off"] + metrics((10, 20)))
    release.wait(WAIT_MS / 1000)
    if complete:
        summary = {"splats": "splats.ply", "metrics": "metrics.jsonl", "num_gaussians": 50,
                   "steps": 100}
        aws.put_logs(name, metrics((100,)))
        aws.complete(name, {"splats.ply": ply_bytes()},
                     {"metrics.jsonl": b'{"step": 100, "loss": 0.01}\n',
                      "summary.json": json.dumps(summary).encode()})
    return name


def mark_current(project: Project, *names: str) -> None:
    """Record stages as done with their current fingerprints (their outputs are on disk), so a
    run skips them as it skips any stage done with these inputs."""
    runner = Runner(project, default_stages(), emit=lambda e: None)
    for stage in runner.stages:
        if stage.name in names:
            record = project.record(stage.name)
            record.state, record.run_id = "done", record.run_id or project.new_run_id()
            record.fingerprint = runner.fingerprint(stage)
    project.save()


@pytest.fixture()
def project(handoff_project):
    """The emulator's project: SfM done, cloud settings of the emulated account, local compression."""
    cloud_settings(handoff_project, compress_where="local")
    mark_current(handoff_project, "ingest", "sfm")
    handoff_project.unlock()
    return handoff_project


@pytest.fixture()
def release():
    """Set to let SageMaker's side go on; set at teardown so no player is left waiting."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture()
def make_window(qtbot, release):
    """Windows on the project; a run still going at teardown is detached from (the job runs
    on in the emulator, which the next test resets). Not qtbot.addWidget: its close would ask
    what to do with the run."""
    made: list[MainWindow] = []

    def make(root) -> MainWindow:
        win = MainWindow(with_viewer=False)
        win.show()
        made.append(win)
        assert win.open_project(root)
        return win

    yield make
    release.set()
    for win in made:
        win.shutdown()
        win.close()
        win.deleteLater()


@pytest.fixture()
def window(make_window, project):
    return make_window(project.root)


def bucket_keys(aws: MotoAws) -> list[str]:
    return [o["Key"] for o in aws.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def approval_box(qtbot, panel):
    assert panel.offload()
    qtbot.waitUntil(lambda: panel.cost_box is not None, timeout=WAIT_MS)
    return panel.cost_box


def press(box, text: str) -> None:
    """Click the button reading `text` of a message box or of the cost dialog."""
    buttons = box.buttons() if hasattr(box, "buttons") else box.findChildren(QPushButton)
    next(b for b in buttons if b.text() == text).click()


def test_a_declined_estimate_uploads_nothing_and_starts_no_job(qtbot, window, aws):
    panel = window.cloud_panel
    box = approval_box(qtbot, panel)
    assert [(c.name, c.ok) for c in panel.checks] == [
        ("AWS credentials", True), ("S3 bucket set", True), ("SageMaker execution role", True),
        ("S3 bucket reachable", True), ("S3 bucket region", True), ("train image", True)]
    assert panel.checklist.text().count("✓") == 6
    text = box.findChild(QLabel, "costEstimate").text()
    assert "ml.g5.xlarge" in text and "$1.408/h" in text and "min" in text and "Total" in text
    assert "bundled table" in text and "2026-11-01" in text  # the price's source and date
    assert "assumed" in text  # each figure says where it comes from
    press(box, "Don't start")
    assert "nothing was uploaded" in panel.status.text()
    assert not window.busy and bucket_keys(aws) == [] and not aws.backend().training_jobs
    assert window.project.settings.train.where == "auto"


def test_approved_the_job_is_followed_into_the_charts_and_ends_in_the_results(qtbot, window,
                                                                             aws, release):
    panel = window.cloud_panel
    script = aws.in_background(lambda: play_training(aws, release, complete=True))
    press(approval_box(qtbot, panel), "Approve and start")
    assert window.busy and window.project.settings.train.where == "cloud"
    assert not panel.offload_button.isEnabled() and not panel.form.fields["bucket"].isEnabled()
    qtbot.waitUntil(lambda: panel.charts.loss.getData()[0] is not None
                    and len(panel.charts.loss.getData()[0]) == 2, timeout=WAIT_MS)
    assert any(k.endswith("/images/img000.jpg") for k in bucket_keys(aws))  # uploaded
    assert panel.transfer_label.text().startswith("uploading the SfM hand-off")
    assert panel.transfer.value() == 1000
    qtbot.waitUntil(lambda: "InProgress / Training" in panel.job_label.text(), timeout=WAIT_MS)
    assert "reading the hand-off" in panel.log.toPlainText()
    assert "step 20/100" in panel.charts.summary.text()
    qtbot.waitUntil(lambda: [r[2] for r in panel.jobs.rows()] == ["InProgress / Training"],
                    timeout=WAIT_MS)
    assert panel.jobs.rows()[0][0].startswith("spaceport-train-") and panel.jobs.stop_buttons
    release.set()
    qtbot.waitUntil(lambda: not window.busy, timeout=WAIT_MS)
    script.join(5)
    assert window.model.stages["train"].state == "done"
    assert window.model.stages["compress"].state == "done", window.log_panel.toPlainText()
    assert "Completed" in panel.job_label.text() and not panel.jobs.stop_buttons
    qtbot.waitUntil(lambda: panel.transfer_label.text().startswith("downloading"),
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "File" in window.results.report.rows, timeout=WAIT_MS)
    assert window.results.report.rows["File"].endswith("scene.sog")


def test_a_job_is_stopped_only_by_its_stop_button_after_a_confirmation(qtbot, window, aws,
                                                                       release):
    panel = window.cloud_panel
    aws.in_background(lambda: play_training(aws, release, complete=False))
    press(approval_box(qtbot, panel), "Approve and start")
    qtbot.waitUntil(lambda: bool(panel.jobs.stop_buttons), timeout=WAIT_MS)
    [(name, button)] = panel.jobs.stop_buttons.items()
    button.click()
    qtbot.waitUntil(lambda: panel.stop_box is not None, timeout=WAIT_MS)
    box = panel.stop_box
    assert name in box.text() and "ml.g5.xlarge" in box.informativeText()
    assert "so far at $1.408/h" in box.informativeText()
    press(box, "Keep it running")
    assert aws.stop_calls == [] and window.busy
    panel.jobs.stop_buttons[name].click()
    qtbot.waitUntil(lambda: panel.stop_box is not None, timeout=WAIT_MS)
    press(panel.stop_box, "Stop the job")
    qtbot.waitUntil(lambda: not window.busy, timeout=WAIT_MS)
    release.set()
    assert aws.stop_calls == [name]
    assert window.model.stages["train"].state == "cancelled"
    qtbot.waitUntil(lambda: "Stopped" in panel.jobs.rows()[0][2], timeout=WAIT_MS)
    assert not panel.jobs.stop_buttons


def test_closing_the_window_mid_job_detaches_and_reopening_follows_the_job_again(
        qtbot, make_window, window, aws, release):
    panel = window.cloud_panel
    script = aws.in_background(lambda: play_training(aws, release, complete=True))
    press(approval_box(qtbot, panel), "Approve and start")
    qtbot.waitUntil(lambda: "step 20/100" in panel.charts.summary.text(), timeout=WAIT_MS)
    name, root = panel.view.name, window.project.root
    answer_next_question("Stop following (the job runs on)")
    window.close()  # as the operator would, mid-job
    qtbot.waitUntil(lambda: not window.busy and not window.isVisible(), timeout=WAIT_MS)
    assert aws.stop_calls == [] and aws.job(name).training_job_status == "InProgress"
    assert Project.open(root, create=False).record("train").state == "cancelled"

    again = make_window(root)
    cloud = again.cloud_panel
    assert "step 20/100" in cloud.charts.summary.text()  # replayed from logs/events.jsonl
    qtbot.waitUntil(lambda: again.busy, timeout=WAIT_MS)  # following again, nothing asked
    assert cloud.cost_box is None and f"{name} is still running" in cloud.status.text()
    release.set()
    qtbot.waitUntil(lambda: not again.busy, timeout=WAIT_MS)
    script.join(5)
    assert again.model.stages["train"].state == "done"
    assert "step 100/100" in cloud.charts.summary.text()
    assert len(aws.backend().training_jobs) == 1  # followed, never launched again


def test_check_lists_every_failed_setting_with_its_fix(qtbot, window, aws):
    panel = window.cloud_panel
    settings = window.project.settings.cloud
    settings.bucket, settings.role_arn = "no-such-bucket", "spaceport-role"
    found = {c.name: c for c in checklist(settings, ("train",))}
    assert found["AWS credentials"].ok and found["train image"].ok
    assert found["S3 bucket reachable"].ok is False and "does not exist" in found[
        "S3 bucket reachable"].detail and "cloud.bucket" in found["S3 bucket reachable"].fix
    assert found["S3 bucket region"].ok is None  # needs the bucket
    assert found["SageMaker execution role"].ok is False
    assert "iam-execution-role.json" in found["SageMaker execution role"].fix
    assert panel.check()
    qtbot.waitUntil(lambda: len(panel.checks) == 6, timeout=WAIT_MS)
    assert "2 check(s) failed" in panel.status.text()
    shown = panel.checklist.text()
    assert "✗</span> <b>S3 bucket reachable</b>: The S3 bucket &#x27;no-such-bucket&#x27; " \
           "does not exist" in shown and "<i>fix: create it in us-east-1" in shown
    assert "–</span> <b>S3 bucket region</b>: not checked: needs S3 bucket reachable" in shown


def test_fields_validate_before_they_are_saved(qtbot, window):
    panel = window.cloud_panel
    bucket = panel.form.fields["bucket"]
    bucket.setText("Not_A_Bucket")
    bucket.editingFinished.emit()
    assert "lowercase" in panel.form.errors["bucket"].text()
    assert window.project.settings.cloud.bucket == BUCKET  # not saved
    bucket.setText("spaceport-other")
    bucket.editingFinished.emit()
    assert not panel.form.errors["bucket"].isVisible()
    assert Project.open(window.project.root, create=False).settings.cloud.bucket == \
        "spaceport-other"
    settings = window.project.settings.cloud
    assert "arn:aws:iam::ACCOUNT:role/NAME" in validate("role_arn", "my-role", settings)
    assert validate("role_arn", ROLE, settings) == ""
    assert "jobs run in eu-west-1" in validate(
        "train_image", TRAIN_IMAGE, type(settings)(region="eu-west-1"))
    assert validate("region", REGION, settings) == "" and validate("region", "mars", settings)


def test_the_job_view_takes_transfers_statuses_and_log_lines_of_cloud_stages():
    from app.pipeline.events import CloudJobStatus, Log, Progress

    view = JobView()
    assert view.apply(Progress(stage="train", fraction=0.05, message="uploading the SfM "
                                                                     "hand-off: 30/60 MB"))
    assert view.transfer_fraction == pytest.approx(0.5)
    view.apply(Progress(stage="train", fraction=0.04, message="uploading the SfM hand-off: 2/6 MB"))
    assert view.transfer_fraction == pytest.approx(0.5)  # a part reporting late
    assert view.apply(Progress(stage="train", fraction=0.99, message="downloading x: 9/10 MB"))
    assert view.transfer_fraction == pytest.approx(0.9)
    assert view.apply(CloudJobStatus(stage="train", job_name="j", status="InProgress",
                                     secondary_status="Training", message="m"))
    assert view.line() == "InProgress / Training: m"
    assert not view.apply(Log(stage="sfm", text="not a cloud stage"))
    assert elapsed_s({"TrainingJobStatus": "Completed", "BillableTimeInSeconds": 90}) == 90
    assert elapsed_s({"TrainingJobStatus": "InProgress", "TrainingStartTime": 100.0},
                     now=160.0) == 60
