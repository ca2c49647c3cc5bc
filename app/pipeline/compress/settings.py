"""Settings of the compression stage."""

from __future__ import annotations

from dataclasses import dataclass

from ..fields import cadence


@dataclass
class CompressSettings:
    """SOG encoding knobs (quality against time and size)."""

    sh_palette_size: int | None = None  # SH palette entries; None: min(1024, ~N/16); more = better, slower
    sh_iterations: int = 10  # k-means iterations of the SH palette
    sh_train_per_centroid: int = 64  # k-means trains on at most this many splats per entry
    sh_degree: int = 3  # highest SH band kept in the SOG (0 drops view-dependent colour)
    webp_method: int = 4  # WebP effort 0 (fast) .. 6 (smallest); lossless either way
    webp_quality: int = 70  # WebP lossless effort within a method (not a loss of quality)
    centre: bool = True  # subtract the scene centre before log encoding (offset kept in georef.json)
    bundle: bool = True  # scene.sog as one ZIP; False writes meta.json + WebP files
    render_check: bool = True  # render PSNR on training's held-out views in the quality report
    render_max_side: int = 256  # long side of those renders on the CPU (a CUDA GPU: train.max_side)
    render_max_views: int = 4  # held-out views rendered at most (bounds the check's time)
    render_budget_s: float = cadence(30.0)  # no further view is started after this long (at least one)
    render_max_splats_cpu: int = 2_000_000  # larger scenes skip the check on the CPU (time)
