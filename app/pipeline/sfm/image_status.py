"""Why each image is or is not in the model: sfm/stats.json's per-image entries.

Contract (TEAM.md 2): `{"registered", "features", "observations", "mean_error_px",
"gps_residual_m", "reason", "reason_text"}` per image; reason is None for a registered image,
else one of REASONS, checked in the order an image falls out of the pipeline.
"""

from __future__ import annotations

from typing import Any

import pycolmap

from .observations import image_errors
from .stats import DatabaseCounts

REASONS = ("excluded", "no_features", "no_verified_pair", "in_separate_model",
           "not_registered_by_mapper")


def image_entries(names: list[str], models: list[pycolmap.Reconstruction],
                  counts: DatabaseCounts, residuals: dict[str, float],
                  excluded: list[str], min_num_matches: int) -> dict[str, dict[str, Any]]:
    """Per image of the flight (usable and operator-excluded): registration and its reason."""
    errors = image_errors(models[0]) if models else {}
    elsewhere = {im.name: i for i, m in enumerate(models[1:], start=1)
                 for im in m.images.values() if im.has_pose}
    sizes = [m.num_reg_images() for m in models]
    entries: dict[str, dict[str, Any]] = {}
    for name in names:
        error = errors.get(name, {})
        reason, text = None, None
        if name not in errors:
            reason, text = _reason(name, counts, elsewhere, sizes, min_num_matches)
        entries[name] = {"registered": name in errors,
                         "features": counts.features_per_image.get(name),
                         "observations": error.get("observations"),
                         "mean_error_px": error.get("mean_error_px"),
                         "gps_residual_m": residuals.get(name),
                         "reason": reason, "reason_text": text}
    for name in excluded:
        entries[name] = {"registered": False, "features": None, "observations": None,
                         "mean_error_px": None, "gps_residual_m": None, "reason": "excluded",
                         "reason_text": "excluded by the operator"}
    return entries


def _reason(name: str, counts: DatabaseCounts, elsewhere: dict[str, int], sizes: list[int],
            min_num_matches: int) -> tuple[str, str]:
    features = counts.features_per_image.get(name)
    if features == 0:
        return "no_features", ("no SIFT features were found in it (blank, blurred, over- or "
                               "under-exposed image?)")
    if name in elsewhere:
        i = elsewhere[name]
        return "in_separate_model", (f"registered in a separate model (model {i}, "
                                     f"{sizes[i]} images) that shares no matches with the "
                                     f"main one")
    if counts.verified_pairs_per_image and not counts.verified_pairs_per_image.get(name):
        return "no_verified_pair", (f"no other image shares {min_num_matches} or more "
                                    f"geometrically verified matches with it (too little "
                                    f"overlap or texture)")
    return "not_registered_by_mapper", ("the mapper could not place it: its matches to the "
                                        "registered images were too few or inconsistent")
