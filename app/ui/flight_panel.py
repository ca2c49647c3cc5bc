"""The flight tab: ingest's validation report in words and the GPS track of the images."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollArea, QWidget


from .charts import make_plot

EARTH_RADIUS_M = 6_371_000.0


def track_metres(images: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """East/north metres of the images with GPS around their mean, and which are usable."""
    located = [im for im in images if im.get("gps")]
    if not located:
        return np.zeros(0), np.zeros(0), np.zeros(0, bool)
    lat = np.array([im["gps"]["lat"] for im in located], float)
    lon = np.array([im["gps"]["lon"] for im in located], float)
    # equirectangular around the mean: exact to well under 0.1 % over a drone flight's extent
    east = np.radians(lon - lon.mean()) * EARTH_RADIUS_M * math.cos(math.radians(lat.mean()))
    north = np.radians(lat - lat.mean()) * EARTH_RADIUS_M
    return east, north, np.array([bool(im.get("usable")) for im in located])


def report_html(report: dict[str, Any]) -> str:
    """The report's figures, warnings and unusable images as rich text."""
    def fmt(value: Any, spec: str = "", unit: str = "") -> str:
        return f"{value:{spec}}{unit}" if isinstance(value, (int, float)) else "-"

    gps, extent = report.get("gps") or {}, report.get("extent") or {}
    alt = (report.get("altitude") or {}).get("relative_m") or {}
    gsd, overlap = report.get("gsd_cm_per_px") or {}, report.get("forward_overlap") or {}
    rows = [
        ("Images usable", f"{report.get('images_usable', '-')} of {report.get('images_total', '-')}"),
        ("GPS coverage", fmt(gps.get("coverage"), ".0%")),
        ("Cameras", ", ".join(f"{k} ({v})" for k, v in (report.get("cameras") or {}).items())
         + (" - mixed" if report.get("mixed_cameras") else "")),
        ("Extent", f"{fmt(extent.get('east_west_m'), '.0f', ' m')} E-W x "
                   f"{fmt(extent.get('north_south_m'), '.0f', ' m')} N-S"),
        ("Altitude above take-off", fmt(alt.get("median"), ".1f", " m")),
        ("Ground sampling distance", fmt(gsd.get("median"), ".2f", " cm/px")),
        ("Forward overlap", fmt(overlap.get("median"), ".0%")),
        ("Exact duplicates", str(len(report.get("duplicates") or []))),
    ]
    text = "<table>" + "".join(f"<tr><td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td>"
                               f"<td>{html.escape(v)}</td></tr>" for k, v in rows) + "</table>"
    warnings = report.get("warnings") or []
    if warnings:
        text += "<p><b>Warnings</b><br>" + "<br>".join(html.escape(str(w)) for w in warnings)
    unusable = report.get("unusable") or []
    if unusable:
        text += "<p><b>Skipped images</b><br>" + "<br>".join(
            html.escape(f"{u.get('file', '?')}: {u.get('reason', '')}" if isinstance(u, dict)
                        else str(u)) for u in unusable)
    return text


class FlightPanel(QWidget):
    """Ingest's report next to a map of where each image was taken."""

    def __init__(self, pool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pool = pool
        self.report = QLabel("No ingest report yet: run the pipeline.")
        self.report.setObjectName("flightReport")
        self.report.setWordWrap(True)
        self.report.setAlignment(Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea()
        scroll.setWidget(self.report)
        scroll.setWidgetResizable(True)
        self.map_plot = make_plot("Image positions (GPS)", "east (m)", "north (m)")
        self.map_plot.setAspectLocked(True)
        self.track = self.map_plot.plot(pen=pg.mkPen("#5b616b", width=1))
        self.points = pg.ScatterPlotItem(size=9)
        self.map_plot.addItem(self.points)
        layout = QHBoxLayout(self)
        layout.addWidget(scroll, 2)
        layout.addWidget(self.map_plot, 3)

    def load(self, project, editable: bool = False) -> None:
        """Show the project's ingest report and flight track (cleared when absent)."""
        if project is None:
            return
        paths = project.paths
        report, flight = _read_json(paths.ingest_report), _read_json(paths.flight_json)
        self.report.setText(report_html(report) if report else
                            "No ingest report yet: run the pipeline.")
        east, north, usable = track_metres((flight or {}).get("images") or [])
        self.track.setData(east, north)
        self.points.setData(east, north, brush=[pg.mkBrush("#4aa3ff" if u else "#e5484d")
                                                for u in usable], pen=None)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
