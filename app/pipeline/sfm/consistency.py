"""Does the model agree with itself? The gate's checks that tell a broken model from noisy GPS.

Runs of consecutive images (in capture order) are each compared with the whole: their own
best fit to the GPS must not need a different scale, heading or position, and on a survey
that looks down their cameras must look the same way as the rest. The yardstick is the GPS
noise the model itself shows (its residuals' spread, with slowly wandering errors counted as
few independent ones), so noisy GPS widens the tolerance instead of failing the model; a
folded strip, a part at another scale or a group placed elsewhere stands out against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pycolmap

from .georeference import Georeference, effective_count
from .similarity import INLIER_SIGMAS
from .validate import GateResult, name_list

BLOCK_MIN, BLOCK_MAX = 5, 12  # images per run compared with the whole
MIN_SCALE_DEVIATION = 0.05  # smaller differences in scale are never called a break
MIN_HEADING_DEVIATION_DEG = 5.0
MIN_TILT_DEVIATION_DEG = 8.0
NADIR_SPREAD_DEG = 20.0  # camera axes within this of their mean: the survey looks down
# more images than this share (and 3 or more), typically this many inlier radii off their GPS
# (a wandering GPS can take a few consecutive fixes just past the radius): the model is broken
MISPLACED_SHARE, MISPLACED_RADII = 0.1, 1.5
SETTING = "sfm.consistency_sigmas"


@dataclass(frozen=True)
class Run:
    """One run of consecutive images and how far it departs from the whole."""

    names: tuple[str, ...]
    scale: float  # relative deviation of its own best scale
    heading_deg: float
    offset_m: float  # horizontal distance between its GPS centroid and its cameras'
    tolerance: dict[str, float]  # the deviation each check allows this run


def check_consistency(rec: pycolmap.Reconstruction, georef: Georeference,
                      sigmas: float, result: GateResult) -> None:
    """Add the consistency findings to `result` (the model is already placed by `georef`)."""
    names = [n for n in georef.targets.names if n in georef.horizontal]
    index = {n: i for i, n in enumerate(georef.targets.names)}
    target = georef.targets.xy[[index[n] for n in names]]
    centres = _centres(rec, names)
    residual = target - centres[:, :2]
    sigma = georef.fit.threshold_m / INLIER_SIGMAS  # the GPS noise this model shows, per axis
    trusted = np.array([n not in georef.targets.assessed_outliers for n in names])
    _misplaced(names, georef, result)
    rho_factor = np.sqrt(len(names) / effective_count(residual[trusted]))
    runs = [r for r in _runs(names, target, centres, trusted, sigma, rho_factor, sigmas)]
    _report(runs, "part_scale", "scale", lambda r: f"{r.scale:+.0%}", result,
            "part of the model is at a different scale from the rest")
    _report(runs, "part_heading", "heading_deg", lambda r: f"{r.heading_deg:+.1f} deg", result,
            "part of the model is turned against the rest")
    _report(runs, "part_position", "offset_m", lambda r: f"{r.offset_m:.1f} m", result,
            "part of the model is placed away from where the rest and the GPS put it")
    _tilt(rec, names, sigmas, result)


def _centres(rec: pycolmap.Reconstruction, names: list[str]) -> np.ndarray:
    by_name = {im.name: im for im in rec.images.values() if im.has_pose}
    return np.array([by_name[n].projection_center() for n in names])


def _misplaced(names: list[str], georef: Georeference, result: GateResult) -> None:
    """Images the georeferencing left out whose GPS ingest did not find jumping."""
    off = [n for n in georef.excluded if n not in georef.targets.assessed_outliers]
    if not off:
        return
    radius = georef.fit.threshold_m
    distances = [georef.horizontal[n] for n in off]
    text = (f"{len(off)} images are up to {max(distances):.0f} m from their GPS position while "
            f"the rest agree with theirs within {radius:.1f} m: {name_list(off)}")
    if len(off) >= 3 and len(off) > MISPLACED_SHARE * len(names) and \
            float(np.median(distances)) > MISPLACED_RADII * radius:
        result.fail("misplaced_images", text + " (placed wrongly by the mapper?)", SETTING, off)
    else:
        result.warn("misplaced_images", text + " (their GPS jumped, or they were placed "
                    "wrongly): left out of the georeferencing", None, off)


def _runs(names: list[str], target: np.ndarray, centres: np.ndarray, trusted: np.ndarray,
          sigma: float, rho_factor: float, sigmas: float) -> list[Run]:
    """Overlapping runs of consecutive trusted images, each fitted on its own."""
    size = int(np.clip(len(names) // 4, BLOCK_MIN, BLOCK_MAX))
    picks = np.flatnonzero(trusted)
    runs = []
    for start in range(0, max(len(picks) - size, 0) + 1, max(size // 2, 1)):
        sel = picks[start:start + size]
        if len(sel) < BLOCK_MIN:
            continue
        a = centres[sel, 0] + 1j * centres[sel, 1]
        b = target[sel, 0] + 1j * target[sel, 1]
        ac, bc = a - a.mean(), b - b.mean()
        denom = np.vdot(ac, ac).real
        if denom <= 0:
            continue
        m = np.vdot(ac, bc) / denom
        spread = float(np.sqrt(np.sum(np.abs(bc) ** 2)))
        n_eff = len(sel) / rho_factor ** 2
        rotation = sigma / max(spread, 1e-9) * rho_factor
        tolerance = {"scale": max(sigmas * rotation, MIN_SCALE_DEVIATION),
                     "heading_deg": max(np.degrees(sigmas * rotation), MIN_HEADING_DEVIATION_DEG),
                     "offset_m": sigmas * sigma * np.sqrt(2.0 / max(n_eff, 1.0))}
        runs.append(Run(tuple(names[i] for i in sel), float(abs(m) - 1.0),
                        float(np.degrees(np.angle(m))), float(abs(b.mean() - a.mean())),
                        tolerance))
    return runs


def _report(runs: list[Run], check: str, field: str, fmt, result: GateResult,
            what: str) -> None:
    bad = [r for r in runs if abs(getattr(r, field)) > r.tolerance[field]]
    if not bad:
        return
    worst = max(bad, key=lambda r: abs(getattr(r, field)) / r.tolerance[field])
    images = sorted({n for r in bad for n in r.names})
    result.fail(check, f"{what}: {fmt(worst)} (tolerance {worst.tolerance[field]:.3g} from "
                f"the GPS noise the model shows) over {name_list(images)}", SETTING, images)


def _tilt(rec: pycolmap.Reconstruction, names: list[str], sigmas: float,
          result: GateResult) -> None:
    """On a survey that looks down, runs whose cameras look another way (a folded strip)."""
    by_name = {im.name: im for im in rec.images.values() if im.has_pose}
    axes = np.array([by_name[n].cam_from_world().rotation.matrix()[2] for n in names])
    mean = _robust_direction(axes)
    if mean is None:
        return  # an oblique or mixed survey: no common direction to compare with
    steps = np.degrees(np.arccos(np.clip(np.sum(axes[1:] * axes[:-1], axis=1), -1.0, 1.0)))
    spread = max(float(np.median(steps)) / np.sqrt(np.log(4.0)) / np.sqrt(2.0), 0.1)
    size = int(np.clip(len(names) // 4, BLOCK_MIN, BLOCK_MAX))
    bad: list[str] = []
    worst = 0.0
    for start in range(0, max(len(names) - size, 0) + 1, max(size // 2, 1)):
        sel = slice(start, start + size)
        run_axis = axes[sel].mean(axis=0)
        angle = _angle_deg(run_axis, mean)
        tolerance = max(sigmas * spread / np.sqrt(len(axes[sel])), MIN_TILT_DEVIATION_DEG)
        if angle > tolerance:
            bad.extend(names[sel])
            worst = max(worst, angle)
    if bad:
        images = sorted(set(bad))
        result.fail("part_tilt", f"part of the model is tilted {worst:.0f} deg against the rest "
                    f"(a folded strip?): {name_list(images)}", SETTING, images)


def _robust_direction(axes: np.ndarray) -> np.ndarray | None:
    """The cameras' common viewing direction, the tilted few left out; None when most of the
    cameras do not share one (an oblique or orbit flight)."""
    mean = axes.mean(axis=0)
    for _ in range(3):
        angles = np.array([_angle_deg(a, mean) for a in axes])
        close = angles <= NADIR_SPREAD_DEG
        if close.mean() < 0.5:
            return None
        mean = axes[close].mean(axis=0)
    return mean / np.linalg.norm(mean)


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)),
                                              -1.0, 1.0))))
