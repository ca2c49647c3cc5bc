"""The validation gate: a model is handed to training only when these checks pass.

Each finding names its check and the setting that governs it, so a failure's hint can say
which setting to look at; `GateResult.to_dict` is sfm/stats.json's `gate` block.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pycolmap

from .observations import inconsistent_tracks
from .settings import SfmSettings


@dataclass(frozen=True)
class Finding:
    """One check that failed or warned: what it found, its setting, the images concerned."""

    check: str
    message: str
    setting: str | None = None  # "sfm.<field>" that sets this check's limit
    images: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "images": list(self.images)}


@dataclass
class GateResult:
    """What the gate found: failures, warnings and the model's figures."""

    failures: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    registered: int = 0
    expected: int = 0
    points: int = 0
    mean_error_px: float = 0.0

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failures

    def fail(self, check: str, message: str, setting: str | None = None,
             images: list[str] | tuple[str, ...] = ()) -> None:
        """Record a failed check."""
        self.failures.append(Finding(check, message, setting, tuple(images)))

    def warn(self, check: str, message: str, setting: str | None = None,
             images: list[str] | tuple[str, ...] = ()) -> None:
        """Record a warning (the model passes)."""
        self.warnings.append(Finding(check, message, setting, tuple(images)))

    def to_dict(self) -> dict[str, Any]:
        """sfm/stats.json's `gate` block."""
        return {"passed": self.ok, "failures": [f.to_dict() for f in self.failures],
                "warnings": [w.to_dict() for w in self.warnings]}


def name_list(names: list[str] | tuple[str, ...], limit: int = 8) -> str:
    """Sorted names, the first `limit` spelled out."""
    shown = ", ".join(sorted(names)[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_model(rec: pycolmap.Reconstruction, expected_images: list[str],
                settings: SfmSettings, gps_residual_m: float | None = None) -> GateResult:
    """Run the model's own checks on `rec` against the images that should be in it (and,
    when `sfm.max_gps_residual_m` is set, the mean distance of its cameras to their GPS)."""
    result = GateResult(expected=len(expected_images), points=rec.num_points3D(),
                        registered=rec.num_reg_images())
    registered = {im.name: im for im in rec.images.values() if im.has_pose}
    if not registered:
        result.fail("registration", "no image was registered")
        return result
    bad_tracks = inconsistent_tracks(rec)
    if bad_tracks:
        result.fail("track_consistency",
                    f"{bad_tracks} track elements do not point back to their 3D point")
    too_few = [name for name, im in registered.items()
               if im.num_points3D < max(1, settings.min_observations_per_image)]
    if too_few:
        result.fail("observations_per_image",
                    f"{len(too_few)} registered images have fewer than "
                    f"{settings.min_observations_per_image} 2D-3D correspondences: "
                    f"{name_list(too_few)}", "sfm.min_observations_per_image", too_few)
    ratio = len(registered) / max(1, len(expected_images))
    if ratio < settings.min_registered_ratio:
        missing = [n for n in expected_images if n not in registered]
        result.fail("registered_ratio",
                    f"only {len(registered)}/{len(expected_images)} images registered "
                    f"({ratio:.0%} < {settings.min_registered_ratio:.0%}); not registered: "
                    f"{name_list(missing)}", "sfm.min_registered_ratio", missing)
    if rec.num_points3D() < settings.min_points:
        result.fail("points", f"{rec.num_points3D()} 3D points (< {settings.min_points})",
                    "sfm.min_points")
    limit = settings.max_gps_residual_m
    if gps_residual_m is not None and limit is not None and not gps_residual_m <= limit:
        result.fail("gps_residual", f"camera centres are {gps_residual_m:.1f} m from their GPS "
                    f"positions on average (> {limit} m)", "sfm.max_gps_residual_m")
    if rec.num_points3D():
        result.mean_error_px = float(rec.compute_mean_reprojection_error())
        if not np.isfinite(result.mean_error_px) or \
                result.mean_error_px > settings.max_reprojection_error_px:
            result.fail("reprojection_error", f"mean reprojection error "
                        f"{result.mean_error_px:.2f} px (> {settings.max_reprojection_error_px} "
                        f"px)", "sfm.max_reprojection_error_px")
    return result
