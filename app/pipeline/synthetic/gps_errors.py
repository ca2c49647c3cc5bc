"""How the sample flight's GPS misreports where each photo was taken.

The photos are always rendered from the true poses; only what the EXIF/XMP says changes, so a
flight with errors shows the same images as one without. Errors come from their own random
stream (the seed's), so they never change the scene or the plan.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from ..errors import InputError

RTK_SIGMA_M = (0.02, 0.03)  # horizontal, vertical: a fixed RTK solution
RTK_FIXED_FLAG = 50


@dataclass(frozen=True)
class GpsErrors:
    """GPS error model of a synthetic flight (the defaults: exact GPS)."""

    horizontal_sigma_m: float = 0.0  # 1 sigma per axis
    horizontal_correlation_s: float = 0.0  # > 0: the error wanders with this time constant
    altitude_sigma_m: float = 0.0  # white noise of the GPS altitude
    altitude_drift_m_per_min: float = 0.0  # the GPS altitude climbs (or sinks) steadily
    altitude_offset_m: float = 0.0  # the GPS altitude is off by this throughout
    outlier_fraction: float = 0.0  # share of images whose position jumps off by outlier_m
    outlier_m: float = 40.0
    missing_fraction: float = 0.0  # share of images written without GPS
    relative_altitude: bool = True  # write DJI RelativeAltitude (barometric, exact)
    rtk: bool = False  # RTK-fixed: centimetre noise and DJI RTK tags (other fields ignored)

    def __post_init__(self) -> None:
        for name in ("outlier_fraction", "missing_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InputError(f"GPS error {name} is {getattr(self, name)}, not a share "
                                 f"between 0 and 1", hint="give a fraction such as 0.05")
        for name in ("horizontal_sigma_m", "horizontal_correlation_s", "altitude_sigma_m",
                     "outlier_m"):
            if getattr(self, name) < 0:
                raise InputError(f"GPS error {name} is negative ({getattr(self, name)})",
                                 hint="give 0 or a positive number")

    def effective(self) -> "GpsErrors":
        """The model as applied: RTK replaces the consumer error fields."""
        if not self.rtk:
            return self
        return replace(GpsErrors(), horizontal_sigma_m=RTK_SIGMA_M[0],
                       altitude_sigma_m=RTK_SIGMA_M[1], relative_altitude=self.relative_altitude,
                       missing_fraction=self.missing_fraction, rtk=True)

    def to_dict(self) -> dict[str, Any]:
        """ground_truth.json's `gps_errors` block."""
        return asdict(self)


PRESETS = {
    "exact": GpsErrors(),
    # what a camera with built-in GPS on a consumer drone typically writes (issue 12's survey)
    "consumer": GpsErrors(horizontal_sigma_m=4.0, horizontal_correlation_s=20.0,
                          altitude_sigma_m=2.0, altitude_drift_m_per_min=3.0,
                          altitude_offset_m=25.0, outlier_fraction=0.02,
                          relative_altitude=False),
    "rtk": GpsErrors(rtk=True),
}


@dataclass(frozen=True)
class ReportedGps:
    """What the GPS reported for each photo, in ENU metres."""

    positions: list[np.ndarray | None]  # None: no GPS written for that photo
    outliers: np.ndarray  # (N,) bool: the photos whose position jumped off


def apply_errors(model: GpsErrors, true_positions: np.ndarray, times_s: np.ndarray,
                 seed: int) -> ReportedGps:
    """The reported ENU position of each photo under `model`."""
    m = model.effective()
    rng = np.random.default_rng([seed, 0x6E55])
    n = len(true_positions)
    horizontal = _wander(rng, times_s, m.horizontal_sigma_m, m.horizontal_correlation_s)
    vertical = rng.normal(0.0, m.altitude_sigma_m, n) + m.altitude_offset_m + \
        m.altitude_drift_m_per_min * (times_s - times_s[0]) / 60.0
    outliers = _pick(rng, n, m.outlier_fraction)
    direction = rng.uniform(0.0, 2 * np.pi, n)
    horizontal[outliers] += m.outlier_m * np.c_[np.cos(direction), np.sin(direction)][outliers]
    missing = _pick(rng, n, m.missing_fraction)
    reported = true_positions + np.c_[horizontal, vertical]
    return ReportedGps([None if missing[i] else reported[i] for i in range(n)], outliers)


def rtk_tags(model: GpsErrors) -> dict[str, float] | None:
    """DJI XMP RTK tags for an RTK flight (flag and 1-sigma std in metres), else None."""
    if not model.rtk:
        return None
    return {"RtkFlag": RTK_FIXED_FLAG, "RtkStdLon": RTK_SIGMA_M[0], "RtkStdLat": RTK_SIGMA_M[0],
            "RtkStdHgt": RTK_SIGMA_M[1]}


def _wander(rng: np.random.Generator, times_s: np.ndarray, sigma: float, tau: float
            ) -> np.ndarray:
    """(N, 2) horizontal errors: white, or a first-order Gauss-Markov process of time
    constant `tau` (stationary sigma `sigma`) sampled at the photos' times."""
    white = rng.normal(0.0, 1.0, (len(times_s), 2))
    if tau <= 0 or len(times_s) == 0:
        return sigma * white
    out = np.empty_like(white)
    out[0] = white[0]
    for i in range(1, len(times_s)):
        rho = np.exp(-(times_s[i] - times_s[i - 1]) / tau)
        out[i] = rho * out[i - 1] + np.sqrt(1.0 - rho ** 2) * white[i]
    return sigma * out


def _pick(rng: np.random.Generator, n: int, fraction: float) -> np.ndarray:
    """A boolean mask of round(fraction * n) photos drawn at random (none at fraction 0)."""
    mask = np.zeros(n, bool)
    count = int(round(fraction * n))
    if count:
        mask[rng.choice(n, size=min(count, n), replace=False)] = True
    return mask
