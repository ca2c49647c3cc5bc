"""The SfM and training charts: every reported point is visible, from the first one on."""

from __future__ import annotations

import os

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.pipeline.events import StageStarted, TrainMetrics
from app.ui.charts import FEW_POINTS, TrainCharts
from app.ui.run_model import RunModel


def metrics(step: int) -> TrainMetrics:
    return TrainMetrics(stage="train", step=step, total_steps=1000, loss=0.3, psnr=None,
                        num_gaussians=5000, it_per_s=0.7, eta_s=60.0)


def test_the_first_training_metrics_show_as_markers_then_as_lines_once_there_are_enough(qtbot):
    charts = TrainCharts()
    qtbot.addWidget(charts)
    model = RunModel(["train"])
    model.apply(StageStarted(stage="train"))
    model.apply(metrics(25))  # a slow CPU run: one point for the first half minute
    charts.refresh(model)
    for curve in (charts.loss, charts.gaussians, charts.speed):
        assert curve.opts["symbol"] == "o" and len(curve.getData()[0]) == 1
    for step in range(50, 25 * (FEW_POINTS + 2), 25):
        model.apply(metrics(step))
    charts.refresh(model)
    assert charts.loss.opts["symbol"] is None  # a line is readable without markers


def test_a_count_that_stays_the_same_is_labelled_in_whole_numbers(qtbot):
    charts = TrainCharts()
    qtbot.addWidget(charts)
    charts.resize(900, 600)
    charts.show()
    model = RunModel(["train"])
    model.apply(StageStarted(stage="train"))
    for step in (25, 50, 75):  # a CPU preview: its Gaussian budget is reached at once
        model.apply(metrics(step))
    charts.refresh(model)
    qtbot.wait(50)
    low, high = charts.gaussians_plot.getViewBox().viewRange()[1]
    assert low < 5000 < high
    axis = charts.gaussians_plot.getAxis("left")
    ticks = [v for _, values in axis.tickValues(low, high, axis.height()) for v in values]
    assert ticks and all(float(v).is_integer() for v in ticks)
