"""Each image of a flight and what the pipeline made of it, from the project's files.

Qt-free (the Flight tab loads it in the background pool). Sources, newest knowledge last:
the flight folder's listing (before ingest), ingest/flight.json and report.json (usable or not
and why; `image_quality` flags when ingest writes them), the `ingest.exclude` setting, and
sfm/stats.json (registered or not and why: TEAM contract 2; older files have only the flag).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.pipeline.geodesy import lla_to_enu
from app.pipeline.ingest.scan import scan_flight
from app.pipeline.ingest.validate import EXCLUDED
from app.pipeline.project import ProjectPaths

STATE_COLORS = {"found": "#8a8f98", "usable": "#4aa3ff", "unusable": "#e5484d",
                "excluded": "#5b616b", "registered": "#22a35a", "not_registered": "#f59e0b"}
STATE_WORDS = {"found": "not ingested yet", "usable": "usable", "unusable": "unusable",
               "excluded": "excluded", "registered": "registered",
               "not_registered": "not registered"}
SFM_REASONS = {"no_features": "no features found", "no_verified_pair": "no verified match with "
               "another image", "not_registered_by_mapper": "left out by the mapper",
               "in_separate_model": "in a smaller, separate model (no overlap with the main one)",
               "excluded": "excluded"}


@dataclass(frozen=True)
class ImageStatus:
    """One image: where its file is, its state and why, and the figures known about it."""

    file: str  # relative to the flight folder (posix)
    state: str  # a key of STATE_COLORS
    reason: str = ""
    gps: tuple[float, float, float] | None = None  # lat, lon, alt
    facts: dict[str, Any] = field(default_factory=dict)  # shown in the details, in order

    @property
    def label(self) -> str:
        """e.g. 'not registered: no verified match with another image'."""
        words = STATE_WORDS[self.state]
        return f"{words}: {self.reason}" if self.reason else words


@dataclass
class FlightImages:
    """The images of a flight in flight order, their map positions, and the ingest report."""

    source: Path | None
    images: list[ImageStatus] = field(default_factory=list)
    east_north: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # per image; NaN: no GPS
    report: dict[str, Any] | None = None
    geo: dict[str, Any] | None = None  # sfm/geo.json: the georeference and its accuracy
    source_missing: bool = False  # the flight folder is gone (its drive unplugged?)

    def index(self, file: str) -> int | None:
        """Row of an image by file name."""
        return next((i for i, im in enumerate(self.images) if im.file == file), None)


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON file's content, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_flight_images(paths: ProjectPaths, source: Path | None,
                       exclude: list[str]) -> FlightImages:
    """Every image of the project with its state (from the files present now)."""
    flight, report = read_json(paths.flight_json), read_json(paths.ingest_report)
    if flight is None:
        images = _listed(source, exclude, report)
    else:
        stats = read_json(paths.sfm_stats) or {}
        quality = (report or {}).get("image_quality") or {}
        sharp = [q["sharpness"] for q in quality.values()
                 if isinstance(q.get("sharpness"), (int, float))]
        typical = float(np.median(sharp)) if sharp else None
        images = [_status(e, set(exclude), (stats.get("images") or {}).get(e["file"]),
                          quality.get(e["file"]), typical) for e in flight.get("images") or []]
    return FlightImages(source, images, _east_north(images), report, read_json(paths.geo_json),
                        source_missing=source is not None and not source.is_dir())


def _listed(source: Path | None, exclude: list[str],
            report: dict[str, Any] | None) -> list[ImageStatus]:
    """The folder's images before ingest, or after an ingest that failed (its report says
    which images were unusable and why)."""
    if source is None or not source.is_dir():
        return []
    unusable = {u["file"]: u["reason"] for u in (report or {}).get("unusable") or []}
    found = "usable" if report else "found"
    return [ImageStatus(f.rel, "excluded", "takes effect when ingest runs again")
            if f.rel in exclude else ImageStatus(f.rel, "unusable", unusable[f.rel])
            if f.rel in unusable else ImageStatus(f.rel, found)
            for f in scan_flight(source).images]


def _status(entry: dict[str, Any], exclude: set[str], sfm: dict[str, Any] | None,
            quality: dict[str, Any] | None, typical_sharpness: float | None) -> ImageStatus:
    gps = entry.get("gps")
    where = (gps["lat"], gps["lon"], gps.get("alt") or 0.0) if gps else None
    facts: dict[str, Any] = {"size": f"{entry.get('width')} x {entry.get('height')} px",
                             "camera": " ".join(p for p in (entry.get("make"), entry.get("model"))
                                                if p) or None,
                             "taken": entry.get("timestamp"),
                             "GPS": f"{gps['lat']:.6f}, {gps['lon']:.6f}, {gps.get('alt') or 0:.1f} m"
                             if gps else entry.get("gps_status")}
    if quality:
        facts["sharpness"] = _sharpness(quality.get("sharpness"), typical_sharpness)
        facts["exposure"] = _exposure(quality)
        facts["flags"] = ", ".join(quality.get("flags") or []) or None
    if sfm is not None:
        facts.update({"features": sfm.get("features"), "2D-3D points": sfm.get("observations"),
                      "reprojection error": _px(sfm.get("mean_error_px")),
                      "GPS residual": _m(sfm.get("gps_residual_m"))})
    facts = {k: v for k, v in facts.items() if v is not None}
    file = entry["file"]
    if not entry.get("usable"):
        state = "excluded" if (entry.get("reason") or "").startswith(EXCLUDED) else "unusable"
        return ImageStatus(file, state, "" if state == "excluded" else entry.get("reason") or "",
                           where, facts)
    if file in exclude:
        return ImageStatus(file, "excluded", "takes effect when ingest runs again", where, facts)
    if sfm is None:
        return ImageStatus(file, "usable", "", where, facts)
    if sfm.get("registered"):
        return ImageStatus(file, "registered", "", where, facts)
    reason = sfm.get("reason_text") or SFM_REASONS.get(sfm.get("reason") or "", "")
    if not reason and sfm.get("features") == 0:
        reason = SFM_REASONS["no_features"]
    return ImageStatus(file, "not_registered", reason, where, facts)


def _sharpness(value: Any, typical: float | None) -> str | None:
    """e.g. '0.561 (1.02 x the flight's median)': ingest flags an image blurred against the
    flight's own median, so the ratio says more than the figure."""
    if not isinstance(value, (int, float)):
        return None
    if not typical:
        return f"{value:.3g}"
    return f"{value:.3g} ({value / typical:.2f} x the flight's median)"


def _exposure(quality: dict[str, Any]) -> str | None:
    """e.g. '33% mean level, 2% clipped dark' (shares of the image)."""
    mean = quality.get("exposure_mean")
    if not isinstance(mean, (int, float)):
        return None
    clipped = [f"{share:.0%} clipped {side}" for side, share in
               (("dark", quality.get("clipped_dark")), ("bright", quality.get("clipped_bright")))
               if isinstance(share, (int, float)) and share >= 0.005]
    return ", ".join([f"{mean:.0%} mean level", *clipped])


def _px(value: Any) -> str | None:
    return f"{value:.2f} px" if isinstance(value, (int, float)) else None


def _m(value: Any) -> str | None:
    return f"{value:.2f} m" if isinstance(value, (int, float)) else None


def _east_north(images: list[ImageStatus]) -> np.ndarray:
    """East/north metres of each image about the flight's mean position (NaN without GPS)."""
    out = np.full((len(images), 2), np.nan)
    located = [i for i, im in enumerate(images) if im.gps is not None]
    if not located:
        return out
    lla = np.array([images[i].gps for i in located], float)
    lat0, lon0 = lla[:, 0].mean(), lla[:, 1].mean()
    out[located] = lla_to_enu(lla, lat0, lon0, float(lla[:, 2].mean()))[:, :2]
    return out
