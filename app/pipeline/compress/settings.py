"""Settings of the compression stage."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CompressSettings:
    """SOG encoding knobs."""

    sh_palette_size: int | None = None  # None: chosen from the splat count
