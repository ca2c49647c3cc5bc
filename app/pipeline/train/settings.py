"""Settings of the training stage."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainSettings:
    """Preset, expert knobs and where training runs."""

    where: str = "auto"  # auto | local | cloud
    preset: str = "preview"  # preview | standard
