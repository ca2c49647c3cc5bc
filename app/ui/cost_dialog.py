"""The cost of a cloud run, approved before anything is uploaded (TEAM contract 10).

Shows the estimate figure by figure, each marked with where it comes from, and reports
approved or declined; the window then starts the run with `--yes`, or does not start it.
"""

from __future__ import annotations

import html
from typing import Callable

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from app.pipeline.cloud.costs import STARTUP_S, Estimate


def estimate_rows(est: Estimate) -> list[tuple[str, str, str]]:
    """(figure, value, where it comes from) for each line of the estimate."""
    price = est.price
    spot = " (on-demand; spot is usually 60-90 % less)" if est.spot else ""
    return [
        ("Instance type", est.instance, "the cloud.train_instance_type setting"),
        ("Price per hour", f"${price.usd_per_hour:.3f}{spot}", f"{price.source}, {price.date}"),
        ("Expected time", f"about {est.seconds / 60:.0f} min",
         f"assumed: upload, {STARTUP_S / 60:.0f} min start-up and a planning speed per "
         "instance type, not a measurement"),
        ("Total", f"about ${est.usd:.2f}", "price per hour x expected job time"),
    ]


class CostDialog(QDialog):
    """Approve or decline a cloud run's estimated cost."""

    def __init__(self, estimate: Estimate, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train in the cloud?")
        self.setObjectName("costDialog")
        self.estimate = estimate
        rows = "".join(f"<tr><td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td><td>{html.escape(v)}"
                       f"</td><td>&nbsp;&nbsp;<i>{html.escape(src)}</i></td></tr>"
                       for k, v, src in estimate_rows(estimate))
        text = QLabel("<p>Training will run on Amazon SageMaker, billed to your AWS account. "
                      "Nothing is uploaded before you approve.</p>"
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


def ask_cost_approval(parent: QWidget, estimate: Estimate,
                      answered: Callable[[bool], None]) -> CostDialog:
    """Open the dialog (window-modal, the event loop keeps running); `answered(approved)` follows."""
    dialog = CostDialog(estimate, parent)
    dialog.finished.connect(lambda result: answered(result == QDialog.DialogCode.Accepted))
    dialog.open()
    return dialog
