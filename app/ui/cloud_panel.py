"""The Cloud tab: one-click offload of training (and compression) to SageMaker.

Settings with validation; Check runs the pipeline's preflight checklist in the pool; "Train in
the cloud" checks, estimates and asks for approval before anything is uploaded, then starts the
window's run with training in the cloud. The followed job's status, transfers, log tail and the
same training charts come from the run's events; the jobs list from cloud/jobs.json, where a
running job is stopped only by its own Stop button after a confirmation naming its cost so far.
"""

from __future__ import annotations

import dataclasses
import html
from typing import Callable, Iterable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QGroupBox, QHBoxLayout, QLabel, QMessageBox, QPlainTextEdit,
                               QProgressBar, QPushButton, QScrollArea, QSplitter, QVBoxLayout,
                               QWidget)

from app.pipeline.cloud import jobs
from app.pipeline.cloud.approval import CostEstimate, estimate_offload
from app.pipeline.cloud.control import job_records, refresh_jobs, stop_jobs
from app.pipeline.cloud.costs import hourly_price
from app.pipeline.cloud.preflight import Check, checklist
from app.pipeline.cloud.records import TERMINAL
from app.pipeline.cloud.session import AwsSession
from app.pipeline.errors import SpaceportError
from app.pipeline.events import CloudJobStatus, Event
from app.pipeline.project import Project

from .charts import TrainCharts
from .cloud_panel_jobs import JobsList
from .cloud_panel_model import JobView, SpentSoFar, image_kinds, spent_so_far
from .cloud_panel_settings import ERROR_STYLE, CloudSettingsForm
from .cost_dialog import CostDialog, ask_cost_approval
from .pool import BackgroundPool
from .run_model import RunModel

CHART_MS = 100  # as the window's own charts
MARKS = {True: ("✓", "#4ade80"), False: ("✗", "#f87171"), None: ("–", "#9ca3af")}


def ask(parent: QWidget, icon: QMessageBox.Icon, title: str, text: str, details: str,
        buttons: tuple[str, str], answered: Callable[[bool], None]) -> QMessageBox:
    """A window-modal yes/no box (the event loop keeps running); `answered(yes)` follows.
    No is the default: Enter or Esc never approves a cost or stops a job."""
    box = QMessageBox(icon, title, text, parent=parent)
    box.setInformativeText(details)
    yes = box.addButton(buttons[0], QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(box.addButton(buttons[1], QMessageBox.ButtonRole.RejectRole))
    box.finished.connect(lambda _: answered(box.clickedButton() is yes))
    box.open()
    return box


def checklist_html(checks: list[Check]) -> str:
    """Each check on its line: mark, name, what was found or what is wrong, and the fix."""
    rows = []
    for check in checks:
        mark, colour = MARKS[check.ok]
        fix = f"<br>&nbsp;&nbsp;&nbsp;<i>fix: {html.escape(check.fix)}</i>" if check.fix else ""
        rows.append(f"<span style='color:{colour}'>{mark}</span> <b>{html.escape(check.name)}"
                    f"</b>: {html.escape(check.detail)}{fix}")
    return "<br>".join(rows)


def project_estimate(project: Project) -> CostEstimate:
    """The engine's offload estimate (TEAM contract 5) with live prices when AWS gives them."""
    settings = dataclasses.replace(project.settings)
    return estimate_offload(settings, AwsSession(settings.cloud))


class CloudPanel(QWidget):
    """The cloud settings, checks, approval, the followed job and the jobs list of a project.

    `on_change(dotted, text)` saves a setting as the window does; `start_run(approved)` starts
    the window's run, which uploads and follows the job (`approved`: the user approved the cost,
    so the run may launch a new paid job; without it a run only follows a job already going).
    `estimate(project)` is the cost estimate the approval shows.
    """

    def __init__(self, pool: BackgroundPool, on_change: Callable[[str, str], bool],
                 start_run: Callable[[bool], bool], parent: QWidget | None = None,
                 estimate: Callable[[Project], CostEstimate] = project_estimate) -> None:
        super().__init__(parent)
        self.pool, self._on_change, self._start_run, self._estimate = (pool, on_change,
                                                                       start_run, estimate)
        self.project: Project | None = None
        self.editable = False
        self.view = JobView()
        self._unsubscribe: Callable[[], None] = lambda: None
        self._charts = QTimer(self)  # training charts redraw at most this often
        self._charts.setSingleShot(True)
        self._charts.setInterval(CHART_MS)
        self.checks: list[Check] = []
        self.cost_box: CostDialog | None = None
        self.stop_box: QMessageBox | None = None
        self._build()
        self._charts.timeout.connect(lambda: self.charts.refresh(self._model))
        self._model = RunModel([])
        self.open_project(None, self._model, [])

    # -- construction --------------------------------------------------------------------------
    def _build(self) -> None:
        self.form = CloudSettingsForm(self.pool, self._on_change)
        self.check_button = QPushButton("Check")
        self.check_button.setToolTip("check credentials, bucket, role and images (no upload)")
        self.check_button.clicked.connect(self.check)
        self.offload_button = QPushButton("Train in the cloud…")
        self.offload_button.setToolTip("check, show the estimate and ask before uploading")
        self.offload_button.clicked.connect(self.offload)
        buttons = QHBoxLayout()
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.offload_button)
        buttons.addStretch(1)
        self.status = QLabel()
        self.status.setObjectName("cloudStatus")
        self.status.setWordWrap(True)
        self.checklist = QLabel()  # one line per check, wrapped whole (fixes are sentences)
        self.checklist.setObjectName("cloudChecklist")
        self.checklist.setWordWrap(True)
        self.checklist.setTextFormat(Qt.TextFormat.RichText)
        self.checklist.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.checklist.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.jobs = JobsList(stop=self.stop_job, refresh=self.refresh_from_aws)
        settings = QGroupBox("AWS")
        box = QVBoxLayout(settings)
        box.addWidget(self.form)
        box.addLayout(buttons)
        box.addWidget(self.status)
        box.addWidget(self.checklist, 1)
        jobs_box = QGroupBox("Jobs of this project")
        QVBoxLayout(jobs_box).addWidget(self.jobs)
        left = QScrollArea()  # the fields and the checklist never squeeze each other
        left.setWidgetResizable(True)
        left.setWidget(settings)
        left.setMinimumWidth(440)

        self.job_label = QLabel("No job followed.")
        self.job_label.setObjectName("cloudJob")
        self.job_label.setWordWrap(True)
        self.transfer = QProgressBar()
        self.transfer.setRange(0, 1000)
        self.transfer_label = QLabel()
        self.charts = TrainCharts()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(400)
        self.log.setPlaceholderText("the job's log lines appear here")
        job_box = QGroupBox("Followed job")
        right = QVBoxLayout(job_box)
        right.addWidget(self.job_label)
        right.addWidget(self.transfer_label)
        right.addWidget(self.transfer)
        right.addWidget(self.charts, 3)
        right.addWidget(QLabel("Log"))
        right.addWidget(self.log, 1)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(left)
        top.addWidget(job_box)
        top.setStretchFactor(1, 1)
        top.setSizes([520, 760])
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(jobs_box)
        split.setStretchFactor(0, 1)
        split.setSizes([600, 170])
        QVBoxLayout(self).addWidget(split)

    # -- the project ---------------------------------------------------------------------------
    def open_project(self, project: Project | None, model: RunModel,
                     events: Iterable[Event]) -> None:
        """Show `project` (its settings, jobs, the job its past `events` followed; charts from
        the window's `model`), and follow again a job still running that nothing follows."""
        self.project, self.editable = project, False
        self._unsubscribe()
        self._model = model
        self._unsubscribe = model.subscribe(self._model_changed)
        self.charts.refresh(model)
        self.view = JobView()
        for event in events:
            self.view.apply(event)
        self.checks = []
        self.checklist.clear()
        self.form.show_settings(project)
        self._show_job()
        if project is None:
            self.status.setText("Open a project to train it in the cloud.")
            self.jobs.show_jobs([])
        else:
            self.status.setText("")
            self.reload_jobs(reattach=True)
        self._enable()

    def _model_changed(self, topic: str) -> None:
        if topic == "train" and not self._charts.isActive():
            self._charts.start()  # coalesces a burst of metrics into one redraw

    def set_state(self, editable: bool) -> None:
        """Whether settings can change and a run can start now (the window holds the lock and
        runs nothing); the window says so whenever that changes."""
        self.editable = editable and self.project is not None
        self._enable()

    def _enable(self) -> None:
        self.form.set_editable(self.editable)
        self.check_button.setEnabled(self.project is not None)
        self.offload_button.setEnabled(self.editable)

    # -- check, estimate, approve --------------------------------------------------------------
    def check(self, then: Callable[[list[Check]], None] | None = None) -> bool:
        """Run the preflight checklist in the pool and show each check with its fix."""
        if self.project is None:
            return False
        settings = dataclasses.replace(self.project.settings.cloud)
        kinds = image_kinds(settings)
        self.status.setText("checking the cloud settings…")
        self.check_button.setEnabled(False)
        self.pool.submit(lambda task: checklist(settings, kinds), key="cloud-check",
                         done=lambda found: self._checked(found, then), failed=self._failed)
        return True

    def _checked(self, found: list[Check], then: Callable[[list[Check]], None] | None) -> None:
        self.checks = found
        self.checklist.setText(checklist_html(found))
        failed = [c for c in found if c.ok is False]
        self.status.setText(f"{len(failed)} check(s) failed: fix them as shown, then Check again"
                            if failed else "all checks passed")
        self._enable()
        if then is not None and not failed:
            then(found)

    def offload(self) -> bool:
        """One click: validate, check, estimate, ask for approval; the run starts once approved."""
        project = self.project
        if project is None or not self.editable:
            return False
        missing = self.form.show_problems()
        if missing:
            self.status.setText(f"Fill in the marked field(s) first: {', '.join(missing)}")
            return False
        return self.check(then=lambda _: self._estimate_cost())

    def _estimate_cost(self) -> None:
        project = self.project
        self.status.setText("estimating the cost…")
        self.pool.submit(lambda task: self._estimate(project), key="cloud-estimate",
                         done=self.ask_approval, failed=self._failed)

    def ask_approval(self, estimate: CostEstimate) -> CostDialog:
        """Show the estimate in the window's cost dialog; nothing is uploaded before Approve."""
        self.cost_box = ask_cost_approval(self, estimate,
                                          lambda yes: self._approved(yes, estimate))
        self.status.setText(f"waiting for your approval of about ${estimate.total_usd:.2f}")
        return self.cost_box

    def _approved(self, yes: bool, estimate: CostEstimate) -> None:
        self.cost_box = None
        if not yes:
            self.status.setText("Declined: nothing was uploaded and no job was started.")
            return
        project = self.project
        if project is None:
            return
        if project.settings.train.where != "cloud" and not self._on_change("train.where", "cloud"):
            self.status.setText("Could not set training to run in the cloud (see the log).")
            return
        if self._start_run(True):
            self.status.setText(f"approved (about ${estimate.total_usd:.2f}): uploading the SfM "
                                "hand-off…")
        else:
            self.status.setText("The run could not start (see the log).")

    # -- the followed job ----------------------------------------------------------------------
    def take_events(self, events: Iterable[Event]) -> None:
        """Take a run's events as they arrive (the window's RunController forwards them)."""
        changed = [event for event in events if self.view.apply(event)]
        if not changed:
            return
        self._show_job()
        ended = [e for e in changed if isinstance(e, CloudJobStatus) and e.status in TERMINAL]
        if any(isinstance(e, CloudJobStatus) for e in changed):
            self.reload_jobs()
        if ended:
            self.status.setText(f"The SageMaker job {ended[-1].job_name} ended: {self.view.line()}")

    def _show_job(self) -> None:
        v = self.view
        self.job_label.setText(f"<b>{v.name}</b> ({v.kind}): {v.line()}" if v.name else
                               "No job followed.")
        self.transfer_label.setText(v.transfer)
        self.transfer.setValue(round(1000 * v.transfer_fraction))
        lines = [f"[{level}] {text}" if level != "info" else text for _, level, text in v.log]
        if self.log.toPlainText().splitlines() != lines:
            self.log.setPlainText("\n".join(lines))
            self.log.verticalScrollBar().setValue(self.log.verticalScrollBar().maximum())

    # -- jobs list and stop --------------------------------------------------------------------
    def reload_jobs(self, reattach: bool = False) -> None:
        """Read cloud/jobs.json in the pool and show it; with `reattach`, follow a job that is
        still running (a closed window or Cancel detached from it) by starting a run that may
        not launch anything new."""
        project = self.project
        if project is not None:
            self.pool.submit(lambda task: job_records(project), key="cloud-jobs",
                             done=lambda records: self._jobs_loaded(records, reattach),
                             failed=self._failed)

    def _jobs_loaded(self, records: list, reattach: bool) -> None:
        self.jobs.show_jobs(records)
        running = [job.name for job in records if job.active]
        if reattach and running and self.editable and self._start_run(False):
            self.status.setText(f"The SageMaker job {running[-1]} is still running: following "
                                "it again.")

    def refresh_from_aws(self) -> None:
        """Ask SageMaker for the running jobs' states (updates jobs.json), then show them."""
        project = self.project
        if project is None:
            return
        self.status.setText("asking SageMaker for the jobs' states…")
        self.pool.submit(lambda task: refresh_jobs(project, lambda e: None), key="cloud-jobs",
                         done=lambda records: (self.jobs.show_jobs(records),
                                               self.status.setText("jobs refreshed from AWS")),
                         failed=self._failed)

    def stop_job(self, name: str) -> None:
        """Look up what the job has cost so far, then ask before stopping it."""
        project = self.project
        if project is None:
            return
        settings = dataclasses.replace(project.settings.cloud)

        def look_up(task) -> SpentSoFar:
            session = AwsSession(settings)
            desc = jobs.describe(session.client("sagemaker"), name) or {
                "TrainingJobName": name, "TrainingJobStatus": "gone"}
            instance = (desc.get("ResourceConfig") or {}).get("InstanceType", "")
            return spent_so_far(desc, hourly_price(session, instance))

        self.status.setText(f"looking up {name}…")
        self.pool.submit(look_up, key="cloud-stop", done=self.confirm_stop, failed=self._failed)

    def confirm_stop(self, cost: SpentSoFar) -> QMessageBox | None:
        """Ask, naming the job and its cost so far; only "Stop the job" stops it."""
        if cost.status != "InProgress":
            self.status.setText(f"{cost.name} is {cost.status}: nothing to stop")
            self.reload_jobs()
            return None
        self.stop_box = ask(
            self, QMessageBox.Icon.Warning, "Stop the cloud job?",
            f"Stop the SageMaker job {cost.name}?",
            f"It has run on {cost.text()}.\n\nStopping ends the paid job; its checkpoints stay "
            "in S3, so running again resumes from them. Closing the window does not stop it.",
            ("Stop the job", "Keep it running"), lambda yes: self._stop_answered(yes, cost))
        self.status.setText(f"{cost.name}: {cost.text()}")
        return self.stop_box

    def _stop_answered(self, yes: bool, cost: SpentSoFar) -> None:
        self.stop_box = None
        project = self.project
        if not yes or project is None:
            self.status.setText(f"{cost.name} keeps running")
            return
        self.status.setText(f"stopping {cost.name}…")
        self.pool.submit(lambda task: stop_jobs(project, lambda e: None, names=(cost.name,)),
                         key="cloud-stop", done=lambda stopped: self._stopped(stopped, cost),
                         failed=self._failed)

    def _stopped(self, stopped: list[str], cost: SpentSoFar) -> None:
        self.status.setText(f"stop requested for {cost.name} (about ${cost.usd:.2f} spent)"
                            if stopped else f"{cost.name} had already ended")
        self.reload_jobs()

    def _failed(self, exc: BaseException) -> None:
        text = exc.render() if isinstance(exc, SpaceportError) else f"{type(exc).__name__}: {exc}"
        self.status.setText(f"<span style='{ERROR_STYLE}'>{text}</span>".replace("\n", "<br>"))
        self._enable()
