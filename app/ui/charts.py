"""pyqtgraph charts bound to the run model: SfM progress and training metrics."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from .run_model import RunModel

pg.setConfigOptions(antialias=True, background="#15171c", foreground="#c9ced6")
LINE = pg.mkPen("#4aa3ff", width=2)
LINE2 = pg.mkPen("#f59e0b", width=2)


FEW_POINTS = 30  # a series shorter than this is drawn with markers (one point has no line)
TICK_LEVELS = 1  # major ticks and grid lines only (pyqtgraph draws 3 levels: bench/charts.py)


def show_series(curve: pg.PlotDataItem, x, y) -> None:
    """Set a curve's data; markers while it is short, so its first point shows at all."""
    few = len(x) < FEW_POINTS
    curve.setData(x, y, symbol="o" if few else None, symbolSize=5,
                  symbolPen=curve.opts["pen"], symbolBrush=curve.opts["pen"].color())


class CountAxis(pg.AxisItem):
    """An axis of whole counts: a count that stays the same is not ticked 4999.6, 5000.4."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:
        """pyqtgraph's tick levels less those finer than one."""
        levels = super().tickSpacing(minVal, maxVal, size)
        return [(spacing, offset) for spacing, offset in levels if spacing >= 1] or [(1.0, 0.0)]


def make_plot(title: str, bottom: str, left: str = "", count: bool = False) -> pg.PlotWidget:
    """A titled plot with labelled axes and a light grid; `count`: whole-number ticks on y."""
    plot = pg.PlotWidget(title=title, axisItems={"left": CountAxis("left")} if count else None)
    plot.setLabel("bottom", bottom)
    if left:
        plot.setLabel("left", left)
    plot.showGrid(x=True, y=True, alpha=0.2)
    for side in ("left", "bottom"):  # the minor levels' grid lines were 2/3 of a redraw's cost
        plot.getAxis(side).setStyle(maxTickLevel=TICK_LEVELS - 1)
    plot.getAxis("left").setWidth(64)  # room for "100,000"-wide labels before data arrives
    plot.setMinimumHeight(140)
    return plot


class _ChartPanel(QWidget):
    """A summary line above a 2x2 grid of plots."""

    def __init__(self, plots: list[pg.PlotWidget], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel("no data yet")
        self.summary.setObjectName("chartSummary")
        grid = QGridLayout()
        for i, plot in enumerate(plots):
            grid.addWidget(plot, i // 2, i % 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(grid, 1)


class SfmCharts(_ChartPanel):
    """Registered images, 3D points and reprojection error over time; track-length histogram."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.registered_plot = make_plot("Registered images", "seconds", count=True)
        self.points_plot = make_plot("3D points", "seconds", count=True)
        self.histogram_plot = make_plot("Track length histogram", "images per point", "points")
        self.error_plot = make_plot("Mean reprojection error (px)", "seconds")
        super().__init__([self.registered_plot, self.points_plot, self.histogram_plot,
                          self.error_plot], parent)
        self.registered = self.registered_plot.plot(pen=LINE, symbol="o", symbolSize=5)
        self.points = self.points_plot.plot(pen=LINE2)
        self.error = self.error_plot.plot(pen=LINE)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#4aa3ff")
        self.histogram_plot.addItem(self.bars)

    def refresh(self, model: RunModel) -> None:
        """Redraw from the model's SfM series."""
        s = model.sfm
        self.registered.setData(s.seconds, s.registered)
        show_series(self.points, s.seconds, s.points)
        show_series(self.error, s.seconds, s.reprojection_error)
        labels = list(s.histogram)  # "2", "3", ..., "6-7", "20+" as the SfM stage bins them
        self.bars.setOpts(x=list(range(len(labels))), height=list(s.histogram.values()), width=0.8)
        self.histogram_plot.getAxis("bottom").setTicks([list(enumerate(labels))])
        e = s.latest
        self.summary.setText("no SfM statistics yet" if e is None else (
            f"{e.phase or 'sfm'}: {e.registered_images}/{e.images_total} images registered, "
            f"{e.points:,} points, {e.matched_pairs:,} matched pairs, "
            f"mean track length {e.mean_track_length:.2f}, "
            f"reprojection error {e.mean_reprojection_error:.2f} px"))


class TrainCharts(_ChartPanel):
    """Loss, PSNR, Gaussian count and iterations per second over training steps."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.loss_plot = make_plot("Loss", "step")
        self.psnr_plot = make_plot("PSNR (dB)", "step")
        self.gaussians_plot = make_plot("Gaussians", "step", count=True)
        self.speed_plot = make_plot("Speed (it/s)", "step")
        super().__init__([self.loss_plot, self.psnr_plot, self.gaussians_plot, self.speed_plot],
                         parent)
        self.loss = self.loss_plot.plot(pen=LINE)
        self.psnr = self.psnr_plot.plot(pen=LINE2, symbol="o", symbolSize=5)
        self.gaussians = self.gaussians_plot.plot(pen=LINE)
        self.speed = self.speed_plot.plot(pen=LINE2)

    def refresh(self, model: RunModel) -> None:
        """Redraw from the model's training series."""
        s = model.train
        loss = np.asarray(s.loss, dtype=float)
        ok = np.isfinite(loss)  # a NaN loss (diverged step) would blank the whole curve
        show_series(self.loss, np.asarray(s.step)[ok], loss[ok])
        self.psnr.setData(s.psnr_step, s.psnr)
        show_series(self.gaussians, s.step, s.gaussians)
        show_series(self.speed, s.step, s.it_per_s)
        e = s.latest
        if e is None:
            self.summary.setText("no training metrics yet")
            return
        parts = [f"step {e.step:,}/{e.total_steps:,}", f"loss {e.loss:.4f}",
                 f"{e.num_gaussians:,} Gaussians", f"{e.it_per_s:.1f} it/s"]
        if s.psnr:
            parts.append(f"PSNR {s.psnr[-1]:.2f} dB")
        if e.eta_s is not None:
            parts.append(f"ETA {e.eta_s / 60:.1f} min")
        if e.gpu_mem_mb is not None:
            parts.append(f"GPU {e.gpu_mem_mb:,.0f} MB")
        self.summary.setText(", ".join(parts))
