"""Settings of the Structure-from-Motion stage."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SfmSettings:
    """Backend choice and the knobs of feature extraction, matching and mapping."""

    backend: str = "pycolmap"  # pycolmap | opensfm
    import_from: str | None = None  # an existing COLMAP model folder to import instead of running SfM
