"""Settings of the training stage: presets, where it runs, and the expert knobs."""

from __future__ import annotations

from dataclasses import dataclass

from ..fields import cadence, resolved

PRESET_STEPS = {"preview": 7_000, "standard": 30_000}
REFERENCE_STEPS = 30_000  # gsplat's schedules (refine, reset, SH) are tuned for a 30k-step run
AUTO_EVAL_EVERY = 2000  # auto cadences: these, or a fifth of a shorter run (a CPU preview)
AUTO_PREVIEW_EVERY = 1000


@dataclass
class TrainSettings:
    """Preset, expert knobs and where training runs.

    Where it runs, the preset and the step, size and Gaussian limits count through the run they
    resolve to (train/plan.py); the cadence fields never change the trained splats.
    """

    where: str = resolved("auto")  # auto | local | cloud
    preset: str = resolved("preview")  # preview (~7k steps) | standard (~30k steps)
    max_steps: int | None = resolved(None)  # overrides the preset's step count
    device: str = resolved("auto")  # auto | cpu | cuda | cuda:N (local training only)
    strategy: str = "default"  # default (3DGS densification) | mcmc
    max_gaussians: int = resolved(1_000_000)  # Gaussian budget (MCMC cap; default strategy stops growing)
    sh_degree: int = 3  # final spherical-harmonics degree
    sh_degree_interval: int = 1000  # raise the SH degree every this many steps (30k-step scale)
    seed: int = 0  # random seed (view order, MCMC sampling)
    # learning rates (gsplat simple_trainer defaults); lr_means is multiplied by the scene scale
    lr_means: float = 1.6e-4
    lr_means_final_ratio: float = 0.01  # means lr decays exponentially to this fraction
    lr_scales: float = 5e-3
    lr_quats: float = 1e-3
    lr_opacities: float = 5e-2
    lr_sh0: float = 2.5e-3
    lr_shN: float = 2.5e-3 / 20
    ssim_lambda: float = 0.2  # loss = (1 - l) * L1 + l * (1 - SSIM)
    init_opacity: float = 0.1
    min_points: int = 50  # fewer sparse points than this cannot seed a useful model
    # resolution: images are shrunk so their long side is at most this (0: full size)
    max_side: int = resolved(1600)  # on a GPU (~1.4 MP for a 16:9 drone photo)
    cpu_max_side: int = resolved(128)  # on the CPU (a preview)
    cpu_max_steps: int = resolved(1000)  # a CPU run is a small preview unless max_steps says otherwise
    cpu_max_gaussians: int = resolved(10_000)  # CPU budget; half of it seeds the run (time grows with it)
    # cadence
    eval_every_n_image: int = 8  # every Nth image is held out for evaluation (0: none)
    eval_every: int | None = cadence(None)  # held-out PSNR/SSIM every N steps and at the end (None: auto, 0: end only)
    metrics_every: int = cadence(25)  # TrainMetrics event + metrics.jsonl line every this many steps
    checkpoint_every: int = cadence(1000)  # a checkpoint every this many steps (and on cancel)
    checkpoint_every_s: float = cadence(120.0)  # ... and at least this often in seconds (slow CPU runs)
    preview_every: int | None = cadence(None)  # a PreviewSnapshot PLY every N steps (None: auto, 0: none)
    preview_max_gaussians: int = cadence(50_000)  # subsample size of a preview PLY

    def total_steps(self) -> int:
        """Steps of this run from the preset, unless max_steps overrides it."""
        return int(self.max_steps) if self.max_steps else PRESET_STEPS[self.preset]
