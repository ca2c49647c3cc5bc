"""How good a flight's GPS is, measured from its own track: ingest/report.json's `gps_quality`.

SfM weights its pose priors and its georeferencing by this (sfm/georeference.py). Fields:
- `images`: images with a GPS position; `time_source`: "timestamps" or "capture order".
- `horizontal`: `scatter_m` (1 sigma of the positions across the flight lines of a lawnmower
  survey, each line fitted on its own; on a curved path, across the path from the midpoint of
  each image's two neighbours; speed changes and turns do not count), `outliers` (images whose
  position jumps off the path and back), `lines` (straight runs found), `verdict`, `source`
  ("flight lines", "flight path" or "RTK tags").
- `altitude`: `reference` ("relative_altitude" when DJI RelativeAltitude is present: GPS
  altitude minus it isolates the GPS error; else "gps"), `drift_m_per_min` (robust slope in
  time), `drift_total_m` (over the flight), `scatter_m` (1 sigma about the trend), `steps`
  (sudden jumps that persist: [{file, jump_m}]), `outliers`, `verdict`.
- `relative_altitude`: `images` carrying DJI RelativeAltitude (it then anchors heights in SfM).
- `accuracy_tags`: what the camera wrote: GPSDOP, GPSHPositioningError, DJI RTK flag and std.
- `vertical_source`: where SfM takes heights from: "relative_altitude" (DJI's barometric
  height above take-off), "gps" (GPS altitude, when its verdict is good) or "model" (the
  model's own vertical, from its cameras: a drifting altitude would tilt the model, as the
  drift follows the flight lines; the GPS altitude then only places the model as a whole).
- `sigma_horizontal_m`, `sigma_vertical_m`: the 1-sigma error SfM assumes for the GPS
  positions and for the heights of `vertical_source` (None when that is "model").
- verdicts: "good", "noisy", "unreliable" or "unknown" (too few images to tell).
"""

from __future__ import annotations

from datetime import datetime
from statistics import median
from typing import Any

import numpy as np

from .geometry import local_enu

MIN_IMAGES = 5  # fewer images with GPS: verdicts are "unknown"
GOOD_HORIZONTAL_M, UNRELIABLE_HORIZONTAL_M = 2.5, 15.0
GOOD_ALTITUDE_M, UNRELIABLE_ALTITUDE_M = 3.0, 10.0  # scatter or total drift
UNRELIABLE_OUTLIER_SHARE = 0.2
FLOOR_HORIZONTAL_M, FLOOR_VERTICAL_M = 2.0, 2.0  # consumer GNSS is never better than this
RTK_FIXED, RTK_FLOOR_M = 50, 0.02  # DJI RtkFlag of a fixed solution; RTK accuracy floor
RELATIVE_ALTITUDE_SIGMA_M = 0.5  # DJI's barometric height above take-off, over one flight
UNKNOWN_SIGMA_HORIZONTAL_M, UNKNOWN_SIGMA_VERTICAL_M = 3.0, 5.0  # too few images to measure
OUTLIER_MIN_M = 10.0  # a horizontal jump smaller than this is not called an outlier
STEP_MIN_M = 5.0  # an altitude jump smaller than this is not called a step
LINE_DEG = 50.0  # a step further than this off the survey's main axis is a turn
MIN_ALIGNED_SHARE = 0.6  # steps along the main axis a lawnmower survey has at least


def capture_order(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Images in capture order: by timestamp when every image has one, else as given."""
    if all(e["timestamp"] for e in entries):
        return sorted(entries, key=lambda e: (e["timestamp"], e["file"]))
    return entries


def assess_gps(images: list[dict[str, Any]]) -> dict[str, Any]:
    """The `gps_quality` block for the usable images (flight.json entries in capture order)."""
    located = [im for im in images if im["gps"]]
    tags = _accuracy_tags(located)
    with_rel = [im for im in located if (im["dji"] or {}).get("relative_altitude") is not None]
    if len(located) < MIN_IMAGES:
        return {"images": len(located), "time_source": None, "horizontal": _unknown(),
                "altitude": _unknown(), "relative_altitude": {"images": len(with_rel)},
                "accuracy_tags": tags, "sigma_horizontal_m": UNKNOWN_SIGMA_HORIZONTAL_M,
                "sigma_vertical_m": UNKNOWN_SIGMA_VERTICAL_M,
                "vertical_source": "relative_altitude" if with_rel else "gps"}
    minutes, time_source = _minutes(located)
    index = np.array([i for i, im in enumerate(images) if im["gps"]], dtype=float)
    enu = local_enu(located)
    horizontal = _horizontal(enu[:, :2], index, [im["file"] for im in located], tags)
    use_rel = len(with_rel) >= 0.8 * len(located)
    altitude = _altitude(located, minutes, index, use_rel)
    sigma_h = horizontal["scatter_m"]
    if horizontal["source"] != "RTK tags":
        sigma_h = max(sigma_h, FLOOR_HORIZONTAL_M)
    vertical, sigma_v = "model", None
    if use_rel:
        vertical, sigma_v = "relative_altitude", RELATIVE_ALTITUDE_SIGMA_M
    elif altitude["verdict"] == "good":
        floor = RTK_FLOOR_M if tags.get("rtk_fixed_share", 0) >= 0.9 else FLOOR_VERTICAL_M
        vertical = "gps"
        sigma_v = max(altitude["scatter_m"] + altitude["drift_total_m"] / 2, floor)
    return {"images": len(located), "time_source": time_source, "horizontal": horizontal,
            "altitude": altitude, "relative_altitude": {"images": len(with_rel)},
            "accuracy_tags": tags, "sigma_horizontal_m": sigma_h, "sigma_vertical_m": sigma_v,
            "vertical_source": vertical}


def summary(quality: dict[str, Any]) -> str:
    """One line for the report: the verdict per axis and the figures behind it."""
    h, a = quality["horizontal"], quality["altitude"]
    if h["verdict"] == "unknown":
        return f"GPS quality unknown ({quality['images']} images with GPS)"
    about = {"flight lines": "about the flight lines", "flight path": "about the flight path",
             "RTK tags": "by the RTK tags"}[h["source"]]
    text = f"GPS horizontal {h['verdict']} (+-{h['scatter_m']:.2g} m {about}"
    text += f", {len(h['outliers'])} outlier(s))" if h["outliers"] else ")"
    text += f", altitude {a['verdict']}"
    if a["drift_m_per_min"] is not None and a["drift_total_m"] >= 1.0:
        text += f" (drifts {a['drift_m_per_min']:+.1f} m/min, {a['drift_total_m']:.0f} m over " \
                f"the flight)"
    if a["steps"]:
        text += f", {len(a['steps'])} altitude step(s)"
    source = {"relative_altitude": "heights from DJI RelativeAltitude",
              "gps": "heights from GPS altitude",
              "model": "heights from the model (GPS altitude not used)"}
    return f"{text}; {source[quality['vertical_source']]}"


def _unknown() -> dict[str, Any]:
    return {"verdict": "unknown"}


def _minutes(images: list[dict[str, Any]]) -> tuple[np.ndarray, str]:
    """Capture times in minutes from the first image, else the capture index (one a minute)."""
    try:
        stamps = [datetime.fromisoformat(im["timestamp"]) for im in images]
        minutes = np.array([(s - stamps[0]).total_seconds() / 60.0 for s in stamps])
        if np.ptp(minutes) > 0:
            return minutes, "timestamps"
    except (TypeError, ValueError):
        pass
    return np.arange(len(images), dtype=float), "capture order"


def robust_sigma(x: np.ndarray) -> float:
    """1 sigma of zero-mean residuals, insensitive to a minority of gross errors."""
    x = np.abs(x[np.isfinite(x)])
    if len(x) < 3:
        return float("nan")
    sigma = 1.4826 * float(np.median(x))
    kept = x[x <= 4.0 * sigma] if sigma > 0 else x
    return float(np.sqrt(np.mean(kept ** 2))) if len(kept) >= 3 else sigma


def median_slope(x: np.ndarray, y: np.ndarray, most: int = 800) -> tuple[float, float]:
    """Theil-Sen line y = intercept + slope x: the median of the pairwise slopes (robust to
    outliers and steps); at most `most` evenly spaced points are paired."""
    pick = np.linspace(0, len(x) - 1, min(len(x), most)).astype(int)
    i, j = np.triu_indices(len(pick), 1)
    dx = x[pick][j] - x[pick][i]
    keep = dx > 0
    if not keep.any():
        return 0.0, float(np.median(y))
    slope = float(np.median((y[pick][j] - y[pick][i])[keep] / dx[keep]))
    return slope, float(np.median(y - slope * x))


def _path_offsets(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Each inner point's offset from where its two neighbours put it ((N-2, D)), by linear
    interpolation in capture order (`index`: capture positions, gaps where GPS is missing)."""
    w = ((index[1:-1] - index[:-2]) / (index[2:] - index[:-2]))[:, None]
    return values[1:-1] - (values[:-2] * (1.0 - w) + values[2:] * w)


def flight_lines(xy: np.ndarray) -> list[np.ndarray]:
    """The straight runs of a lawnmower survey (indices of their points, 3 or more each), or
    [] when the path is not mostly straight runs along one axis (orbits, free flight).

    A run is a stretch of steps pointing the same way along the survey's main axis; a step
    more than LINE_DEG off that axis (a turn onto the next strip) ends it."""
    steps = np.diff(xy, axis=0)
    length = np.linalg.norm(steps, axis=1)
    if len(steps) < 2 or not (length > 0).any():
        return []
    axis = np.linalg.eigh(steps.T @ steps)[1][:, -1]
    along = steps @ axis
    aligned = np.abs(along) >= np.cos(np.radians(LINE_DEG)) * np.maximum(length, 1e-9)
    if aligned.mean() < MIN_ALIGNED_SHARE:
        return []
    runs, start = [], None
    for i in range(len(steps) + 1):
        same = i < len(steps) and aligned[i] and start is not None and \
            np.sign(along[i]) == np.sign(along[start])
        if same:
            continue
        if start is not None and i - start >= 2:
            runs.append(np.arange(start, i + 1))
        start = i if i < len(steps) and aligned[i] else None
    return runs


def _line_residuals(xy: np.ndarray, runs: list[np.ndarray]) -> np.ndarray:
    """Perpendicular distances of each run's points from its own fitted line, scaled so that
    their spread estimates the per-point noise (a line fit absorbs 2 of a run's m points)."""
    out = []
    for run in runs:
        pts = xy[run] - xy[run].mean(axis=0)
        normal = np.linalg.eigh(pts.T @ pts)[1][:, 0]
        out.append((pts @ normal) * np.sqrt(len(run) / (len(run) - 2)))
    return np.concatenate(out) if out else np.zeros(0)


def _spikes(xy: np.ndarray, index: np.ndarray, limit: float) -> list[int]:
    """Points more than `limit` off the path whose neighbours, with that point skipped, lie on
    a path with the points beyond them (a jump off and back, not a turn)."""
    def off(i: int, a: int, b: int) -> float:
        w = (index[i] - index[a]) / (index[b] - index[a])
        return float(np.linalg.norm(xy[i] - (xy[a] * (1 - w) + xy[b] * w)))

    found, n = [], len(xy)
    for i in range(1, n - 1):
        before = off(i - 1, i - 2, i + 1) if i >= 2 else None
        after = off(i + 1, i - 1, i + 2) if i + 2 < n else None
        if off(i, i - 1, i + 1) > limit and (before, after) != (None, None) and \
                all(v is None or v < limit / 2 for v in (before, after)):
            found.append(i)
    return found


def _horizontal(xy: np.ndarray, index: np.ndarray, names: list[str], tags: dict[str, Any]
                ) -> dict[str, Any]:
    lines = flight_lines(xy)
    residuals = _line_residuals(xy, lines)
    if len(residuals) >= MIN_IMAGES:
        scatter, method = robust_sigma(residuals), "flight lines"
    else:  # a curved path: each point against the midpoint of its neighbours
        offsets = _path_offsets(xy, index)
        chord = xy[2:] - xy[:-2]
        length = np.linalg.norm(chord, axis=1)
        normal = np.stack([-chord[:, 1], chord[:, 0]], 1) / np.maximum(length, 1e-9)[:, None]
        perp = np.where(length > 0.1, np.sum(offsets * normal, axis=1), np.nan)
        scatter, method = robust_sigma(perp) / np.sqrt(1.5), "flight path"  # e_i - mean(e_i+-1)
    limit = max(5.0 * np.sqrt(1.5) * scatter, OUTLIER_MIN_M)
    outliers = [names[i] for i in _spikes(xy, index, limit)]
    source = method
    if tags.get("rtk_fixed_share", 0) >= 0.9 and tags.get("rtk_std_horizontal_m") is not None:
        scatter, source = max(tags["rtk_std_horizontal_m"], RTK_FLOOR_M), "RTK tags"
    verdict = _verdict(scatter, GOOD_HORIZONTAL_M, UNRELIABLE_HORIZONTAL_M)
    if len(outliers) > UNRELIABLE_OUTLIER_SHARE * len(names):
        verdict = "unreliable"
    return {"scatter_m": scatter, "outliers": outliers, "verdict": verdict, "source": source,
            "lines": len(lines)}


def _altitude(images: list[dict[str, Any]], minutes: np.ndarray, index: np.ndarray,
              use_rel: bool) -> dict[str, Any]:
    names = [im["file"] for im in images]
    alt = np.array([np.nan if im["gps"]["alt"] is None else im["gps"]["alt"] for im in images])
    if use_rel:
        rel = [(im["dji"] or {}).get("relative_altitude") for im in images]
        alt = alt - np.array([np.nan if r is None else r for r in rel])
    ok = np.isfinite(alt)
    if ok.sum() < MIN_IMAGES:
        return {"reference": "none", **_unknown(), "drift_m_per_min": None,
                "drift_total_m": 0.0, "scatter_m": float("nan"), "steps": [], "outliers": []}
    t, a = minutes[ok], alt[ok]
    slope, intercept = median_slope(t, a)
    residual = a - (intercept + slope * t)
    # with RelativeAltitude the difference is flat: scatter about the trend; without it the
    # flight's own climbs and descents are smooth: scatter about the neighbours' midpoint
    scatter = robust_sigma(residual) if use_rel else \
        robust_sigma(_path_offsets(residual, index[ok])) / np.sqrt(1.5)
    kept = [n for n, good in zip(names, ok) if good]
    steps, outliers = _jumps(residual, a, kept, scatter)
    total = abs(float(slope)) * float(np.ptp(t))
    worst = max(scatter, total)
    verdict = _verdict(worst, GOOD_ALTITUDE_M, UNRELIABLE_ALTITUDE_M)
    if steps and verdict == "good":
        verdict = "noisy"
    return {"reference": "relative_altitude" if use_rel else "gps",
            "drift_m_per_min": float(slope), "drift_total_m": total, "scatter_m": scatter,
            "steps": steps, "outliers": outliers, "verdict": verdict}


def _jumps(residual: np.ndarray, raw: np.ndarray, names: list[str], scatter: float
           ) -> tuple[list[dict[str, Any]], list[str]]:
    """Steps (a jump that persists) and outliers (a jump that comes back) in the altitude's
    residual about its trend; a step's size is read on the altitude itself (a trend fitted
    across a step absorbs part of it)."""
    limit = max(6.0 * scatter, STEP_MIN_M)
    steps, outliers = [], []
    for i in range(1, len(residual)):
        before = float(np.median(residual[max(0, i - 3):i]))
        after = float(np.median(residual[i:i + 3]))
        if abs(residual[i] - residual[i - 1]) <= limit:
            continue
        if abs(after - before) > limit:
            jump = float(np.median(raw[i:i + 3]) - np.median(raw[max(0, i - 3):i]))
            steps.append({"file": names[i], "jump_m": jump})
        elif abs(residual[i] - before) > limit:
            outliers.append(names[i])
    return steps, sorted(set(outliers))


def _verdict(value: float, good: float, unreliable: float) -> str:
    if not np.isfinite(value):
        return "unknown"
    return "good" if value <= good else ("noisy" if value <= unreliable else "unreliable")


def _accuracy_tags(images: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the accuracy tags the camera wrote, and the share of RTK-fixed images."""
    tags: dict[str, Any] = {}
    acc = [im.get("gps_accuracy") or {} for im in images]
    for key in ("dop", "h_error_m"):
        values = [a[key] for a in acc if a.get(key) is not None]
        if values:
            tags[key] = median(values)
    dji = [im["dji"] or {} for im in images]
    flags = [d["rtk_flag"] for d in dji if "rtk_flag" in d]
    if flags:
        tags["rtk_fixed_share"] = sum(f == RTK_FIXED for f in flags) / len(images)
        std = [max(d["rtk_std_lat"], d["rtk_std_lon"]) for d in dji
               if "rtk_std_lat" in d and "rtk_std_lon" in d]
        if std:
            tags["rtk_std_horizontal_m"] = median(std)
        hgt = [d["rtk_std_hgt"] for d in dji if "rtk_std_hgt" in d]
        if hgt:
            tags["rtk_std_vertical_m"] = median(hgt)
    return tags
