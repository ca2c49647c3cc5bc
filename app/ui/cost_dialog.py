"""The cost of a cloud run, approved before anything is uploaded (TEAM contract 10).

Shows the engine's estimate (`app/pipeline/cloud/approval.py`, the same one the command line
prints) job by job, each figure marked measured, assumed or set, and reports approved or
declined; the window then starts the run with `--yes`, or does not start it.
"""

from __future__ import annotations

import html
from typing import Callable

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from app.pipeline.cloud.approval import CostEstimate


def estimate_rows(est: CostEstimate) -> list[tuple[str, str, str]]:
    """(figure, value, where it comes from) for each line of the estimate."""
    rows = []
    for job in est.jobs:
        rows.append((f"{job.kind.capitalize()} job", f"{job.instance}, about {job.seconds / 60:.0f} "
                     f"min, about ${job.usd:.2f}", f"${job.price.usd_per_hour:.3f}/h: "
                     f"{job.price.source}, {job.price.date}"))
        rows += [(f"   {name}", "unknown" if fig.value is None else
                  f"{fig.value:,.{0 if abs(fig.value) >= 100 else 1}f} {fig.unit}",
                  f"{fig.basis}: {fig.source}") for name, fig in job.parts]
    rows.append(("Compression", est.compression, est.compression_why))
    spot = "; spot is usually 60-90 % lower" if est.spot else ""
    rows.append(("Total", f"about ${est.total_usd:.2f}", f"on-demand prices{spot}"))
    return rows


class CostDialog(QDialog):
    """Approve or decline a cloud run's estimated cost."""

    def __init__(self, estimate: CostEstimate, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train in the cloud?")
        self.setObjectName("costDialog")
        self.estimate = estimate
        rows = "".join(f"<tr><td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td><td>{html.escape(v)}"
                       f"</td><td>&nbsp;&nbsp;<i>{html.escape(src)}</i></td></tr>"
                       for k, v, src in estimate_rows(estimate))
        text = QLabel(f"<p>Training ({html.escape(estimate.run)}) will run on Amazon SageMaker, "
                      "billed to your AWS account. Nothing is uploaded before you approve.</p>"
                      f"<table>{rows}</table>")
        text.setObjectName("costEstimate")
        text.setWordWrap(True)
        buttons = QDialogButtonBox()
        self.approve = buttons.addButton("Approve and start", QDialogButtonBox.ButtonRole.AcceptRole)
        self.decline = buttons.addButton("Don't start", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        box = QVBoxLayout(self)
        box.addWidget(text)
        box.addWidget(buttons)


def ask_cost_approval(parent: QWidget, estimate: CostEstimate,
                      answered: Callable[[bool], None]) -> CostDialog:
    """Open the dialog (window-modal, the event loop keeps running); `answered(approved)` follows."""
    dialog = CostDialog(estimate, parent)
    dialog.finished.connect(lambda result: answered(result == QDialog.DialogCode.Accepted))
    dialog.open()
    return dialog
