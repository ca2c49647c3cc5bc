"""The whole gate: the model's own checks (validate.py), its consistency with itself against
the GPS noise it shows (consistency.py), and the georeference's accuracy as a warning."""

from __future__ import annotations

from typing import Any

import numpy as np
import pycolmap

from .consistency import check_consistency
from .georeference import Georeference
from .settings import SfmSettings
from .similarity import INLIER_SIGMAS
from .validate import GateResult, check_model

DISAGREEMENT = 3.0  # residual spread over the GPS's own scatter that is worth a warning


def run_gate(rec: pycolmap.Reconstruction, expected: list[str], settings: SfmSettings,
             georef: Georeference | None, gps_quality: dict[str, Any]) -> GateResult:
    """Every check of the gate on a placed model (`georef` None: not georeferenced)."""
    mean = float(np.mean(list(georef.horizontal.values()))) if georef else None
    result = check_model(rec, expected, settings, mean)
    if georef is None or not result.registered:
        return result
    check_consistency(rec, georef, settings.consistency_sigmas, result)
    horizontal = gps_quality.get("horizontal") or {}
    verdicts = {horizontal.get("verdict", "unknown"),
                (gps_quality.get("altitude") or {}).get("verdict", "unknown")}
    warning = georef.warning(verdicts)
    if warning:
        result.warn("georeference_accuracy", warning)
    shown = georef.fit.threshold_m / INLIER_SIGMAS
    scatter = horizontal.get("scatter_m")
    if scatter and shown > DISAGREEMENT * max(scatter, georef.targets.sigma_h / 2):
        result.warn("gps_disagreement",
                    f"the model departs from the GPS by +-{shown:.1f} m (1 sigma) where the GPS "
                    f"track itself scatters +-{scatter:.1f} m: the GPS wanders slowly, or part "
                    f"of the model is wrong (check the per-image GPS residuals in "
                    f"sfm/stats.json)")
    return result
