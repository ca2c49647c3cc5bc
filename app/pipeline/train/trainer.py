"""The training loop: `train_model` turns the SfM hand-off into trained Gaussian splats.

One code path for every device: gsplat's CUDA rasterizer on a GPU, the torch compositor on
CPU (render/rasterize.py); gsplat's strategies densify (strategy.py). The loop reports TrainMetrics,
evaluates held-out views, writes previews and checkpoints, and resumes from its checkpoint.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..errors import Cancelled, InputError, ProjectError, StageError
from ..events import Event, Log, Progress
from ..settings import fingerprint
from ..cancel import CancelToken
from ..render.rasterize import rasterizer_for
from ..render.views import resolve_device, view_tensors
from . import checkpoint as ckpt_io
from .data import Scene, View, load_scene
from .evaluate import Evaluation, evaluate
from .loss import mcmc_regularizer, photometric_loss
from .model import PARAM_KEYS, all_finite, init_params, make_optimizers
from .outputs import Reporter, write_outputs
from .plan import TrainPlan, plan_for
from .settings import (AUTO_EVAL_EVERY, AUTO_PREVIEW_EVERY, PRESET_STEPS, REFERENCE_STEPS,
                       TrainSettings)
from .strategy import Densifier, make_densifier

STAGE = "train"


@dataclass
class Run:
    """The state of one training run (what a checkpoint saves, plus its surroundings)."""

    settings: TrainSettings
    scene: Scene
    device: torch.device
    total_steps: int
    train_views: list[View]
    test_views: list[View]
    params: torch.nn.ParameterDict
    optimizers: dict[str, torch.optim.Optimizer]
    densifier: Densifier
    generator: torch.Generator
    ckpt_dir: Path
    step: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # saved with checkpoints
    losses: list[torch.Tensor] = field(default_factory=list)  # since the last report (no sync)
    resumed_at: float = field(default_factory=time.perf_counter)
    saved_at: float = field(default_factory=time.perf_counter)  # last checkpoint (or start)

    def elapsed(self) -> float:
        """Training seconds across every resume of this run."""
        return self.extra.get("elapsed_s", 0.0) + time.perf_counter() - self.resumed_at

    @property
    def structure(self) -> str:
        """What a resumed run must share with its checkpoint."""
        s, v = self.settings, self.scene.views[0]
        return fingerprint({"sh": s.sh_degree, "strategy": s.strategy, "size": [v.width, v.height]})

    def sh_degree_now(self) -> int:
        """SH degree in use at this step (raised every scaled interval)."""
        interval = max(1, int(self.settings.sh_degree_interval * self.total_steps / REFERENCE_STEPS))
        return min(self.step // interval, self.settings.sh_degree)

    def means_lr(self) -> float:
        """Means learning rate: exponential decay to lr_means_final_ratio over the run."""
        base = self.optimizers["means"].defaults["lr"]
        return base * self.settings.lr_means_final_ratio ** (self.step / self.total_steps)


def train_model(model_dir: Path, images_dir: Path, out_dir: Path, settings: TrainSettings,
                emit: Callable[[Event], None], cancel: CancelToken,
                checkpoint_dir: Path | None = None, *, device: str | None = None,
                owner: str = "") -> dict:
    """Train splats on a COLMAP PINHOLE model; writes splats.ply, metrics.jsonl, checkpoints.

    `device` overrides settings.device; `owner` is stored in checkpoints (who wrote them).
    Returns the outputs: files relative to `out_dir` and the run's figures.
    """
    dev = resolve_device(device or settings.device)
    _check_settings(settings)
    out_dir = Path(out_dir)
    emit(Progress(stage=STAGE, fraction=0.0, message="loading the SfM model and images"))
    plan = plan_for(settings, on_gpu=dev.type == "cuda")
    scene = load_scene(model_dir, images_dir, min_points=settings.min_points, max_side=plan.max_side)
    run = _start(scene, settings, plan, dev, Path(checkpoint_dir or out_dir / "checkpoints"), emit)
    run.extra.setdefault("owner", owner)
    reporter = Reporter(out_dir, run.step, emit)
    try:
        while run.step < run.total_steps:
            cancel.check()
            _train_step(run)
            _after_step(run, reporter, emit)
    except (Cancelled, KeyboardInterrupt):
        _save_checkpoint(run, emit)
        raise
    finally:
        reporter.close()
    final = reporter.last_evaluation or _evaluate(run, out_dir / "heldout.png")
    outputs = write_outputs(out_dir, run.params, final, run.extra, run.total_steps,
                            run.elapsed(), str(dev))
    outputs["resolution"] = f"{scene.views[0].width}x{scene.views[0].height}"
    ckpt_io.remove(run.ckpt_dir)
    return outputs


def _check_settings(s: TrainSettings) -> None:
    if s.preset not in PRESET_STEPS:
        raise InputError(f"train.preset must be one of {', '.join(PRESET_STEPS)}, not {s.preset!r}")
    if not 0 <= s.sh_degree <= 3:
        raise InputError(f"train.sh_degree must be 0..3, not {s.sh_degree}")
    if s.total_steps() < 1 or s.max_gaussians < 1:
        raise InputError("train.max_steps and train.max_gaussians must be positive")


def _seed_points(scene: Scene, limit: int, seed: int, emit) -> tuple[np.ndarray, np.ndarray]:
    """The sparse points that seed the Gaussians: a random subset when over `limit`."""
    if len(scene.points) <= limit:
        return scene.points, scene.colors
    emit(Log(stage=STAGE, text=f"seeding {limit} of the {len(scene.points)} sparse points "
                               "(Gaussian budget)"))
    keep = np.sort(np.random.default_rng(seed).choice(len(scene.points), limit, replace=False))
    return scene.points[keep], scene.colors[keep]


def _start(scene: Scene, settings: TrainSettings, plan: TrainPlan, device: torch.device,
           ckpt_dir: Path, emit) -> Run:
    """A fresh run initialised from the sparse points, or the checkpointed one resumed."""
    if scene.dropped_points:
        emit(Log(stage=STAGE, level="warning",
                 text=f"{scene.dropped_points} sparse points lie outside every camera's view; "
                      "they were left out"))
    train_views, test_views = scene.split(settings.eval_every_n_image)
    scale = scene.scene_scale()
    budget = plan.max_gaussians
    points, colors = _seed_points(scene, budget // 2 if device.type == "cpu" else budget,
                                  settings.seed, emit)
    params = init_params(points, colors, settings.sh_degree, settings.init_opacity, scale, device)
    optimizers = make_optimizers(params, settings, scale)
    total = plan.steps
    if plan.kind == "cpu_preview" and total < settings.total_steps():
        emit(Log(stage=STAGE, level="warning",
                 text=f"training on the CPU: {plan.describe()} instead of the {settings.preset} "
                      f"preset's {settings.total_steps()} steps"))
    generator = torch.Generator().manual_seed(settings.seed)
    torch.manual_seed(settings.seed)
    run = Run(settings, scene, device, total, train_views, test_views, params, optimizers,
              make_densifier(settings, total, scale, params, optimizers, budget),
              generator, ckpt_dir)
    saved = ckpt_io.load(ckpt_dir)
    if saved is not None:
        ckpt_io.check_scene(saved, scene.fingerprint, ckpt_io.path_in(ckpt_dir))
        if saved.structure == run.structure:
            _restore(run, saved)
            emit(Log(stage=STAGE, text=f"resuming from the checkpoint at step {run.step}"))
            return run
        emit(Log(stage=STAGE, level="warning", text="the checkpoint was made with another SH "
                 "degree, strategy or resolution; training starts over"))
    emit(Log(stage=STAGE, text=f"training {len(points)} initial Gaussians on "
             f"{len(train_views)} views ({len(test_views)} held out), {total} steps on {device}"))
    initial = _evaluate(run, None)
    run.extra["initial_psnr"] = initial.psnr if initial else None
    return run


def _restore(run: Run, saved: ckpt_io.Checkpoint) -> None:
    for key in PARAM_KEYS:
        run.params[key] = torch.nn.Parameter(saved.params[key].to(run.device))
    fresh = make_optimizers(run.params, run.settings, run.scene.scene_scale())
    for key, opt in fresh.items():
        opt.load_state_dict(saved.optimizers[key])
        run.optimizers[key] = opt
    run.densifier.state.update({k: v.to(run.device) if torch.is_tensor(v) else v
                                for k, v in saved.strategy_state.items()})
    run.generator.set_state(saved.rng["views"])
    torch.set_rng_state(saved.rng["torch"])
    if "cuda" in saved.rng and run.device.type == "cuda":
        torch.cuda.set_rng_state(saved.rng["cuda"].cpu(), run.device)
    run.step, run.extra = saved.step, dict(saved.extra)
    run.resumed_at = time.perf_counter()


def _rng_states(generator: torch.Generator, device: torch.device) -> dict[str, torch.Tensor]:
    """The random generators a resumed run must continue (view order, strategies' sampling)."""
    states = {"views": generator.get_state(), "torch": torch.get_rng_state()}
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(device)
    return states


def _train_step(run: Run) -> None:
    """One optimisation step on a random training view (its loss is checked at reports)."""
    view = run.train_views[int(torch.randint(len(run.train_views), (1,), generator=run.generator))]
    viewmat, K, photo = view_tensors(view, run.device)
    rasterize = rasterizer_for(run.device)
    colors, _, info = rasterize(run.params, viewmat, K, view.width, view.height, run.sh_degree_now())
    run.densifier.pre_backward(run.params, run.optimizers, run.step, info)
    loss = photometric_loss(colors[0], photo, run.settings.ssim_lambda)
    if run.densifier.regularizes:
        loss = loss + mcmc_regularizer(run.params)
    run.losses.append(loss.detach())
    loss.backward()
    lr = run.means_lr()
    run.optimizers["means"].param_groups[0]["lr"] = lr
    for opt in run.optimizers.values():
        opt.step()
        opt.zero_grad(set_to_none=True)
    run.densifier.post_backward(run.params, run.optimizers, run.step, info, lr)
    run.step += 1


def _diverged(run: Run, step: int) -> None:
    kept = ckpt_io.path_in(run.ckpt_dir)
    where = (f"the last good checkpoint {kept} is kept" if kept.exists()
             else "no checkpoint was written before it")
    raise StageError(f"Training diverged at step {step}: the loss or the Gaussians became "
                     f"NaN; {where}",
                     hint="lower the learning rates (train.lr_means, train.lr_scales) or rerun "
                          "SfM; then run the train stage again")


def _after_step(run: Run, reporter: Reporter, emit) -> None:
    s, step, last = run.settings, run.step, run.step == run.total_steps

    def due(every: int) -> bool:
        return every > 0 and step % every == 0

    def due_or_auto(every: int | None, default: int) -> bool:  # auto: a short run still reports 5 times
        return due(every if every is not None else min(default, max(run.total_steps // 5, 1)))

    evaluate_now = last or due_or_auto(s.eval_every, AUTO_EVAL_EVERY)
    overdue = time.perf_counter() - run.saved_at > s.checkpoint_every_s > 0
    preview = due_or_auto(s.preview_every, AUTO_PREVIEW_EVERY) and not last
    save = (due(s.checkpoint_every) or overdue) and not last
    if not (evaluate_now or preview or save or due(s.metrics_every)):
        return
    losses = _checked_losses(run)
    evaluation = _evaluate(run, reporter.out_dir / "heldout.png") if evaluate_now else None
    reporter.report(step, run.total_steps, sum(losses) / len(losses), len(run.params["means"]),
                    evaluation)
    if preview:
        reporter.preview(run.params, step, s.preview_max_gaussians)
    if save:
        _save_checkpoint(run, emit)


def _checked_losses(run: Run) -> list[float]:
    """The losses since the last report; stops the run at the first NaN one or NaN Gaussians."""
    losses = torch.stack(run.losses).tolist()
    run.losses = []
    bad = next((i for i, x in enumerate(losses) if not math.isfinite(x)), None)
    if bad is not None:
        _diverged(run, run.step - len(losses) + bad + 1)
    if not all_finite(run.params):
        _diverged(run, run.step)
    return losses


def _evaluate(run: Run, png: Path | None) -> Evaluation | None:
    return evaluate(run.params, run.test_views, rasterizer_for(run.device), run.sh_degree_now(),
                    run.device, side_by_side=png)


def _save_checkpoint(run: Run, emit) -> None:
    """Checkpoint the run; a failed write (disk full) keeps the previous one and warns."""
    if run.losses:
        _checked_losses(run)
    saved = ckpt_io.Checkpoint(
        step=run.step, scene=run.scene.fingerprint, structure=run.structure,
        params={k: v.detach() for k, v in run.params.items()},
        optimizers={k: o.state_dict() for k, o in run.optimizers.items()},
        strategy_state=dict(run.densifier.state),
        rng=_rng_states(run.generator, run.device),
        extra={**run.extra, "elapsed_s": run.elapsed()})
    run.saved_at = time.perf_counter()
    try:
        path = ckpt_io.save(run.ckpt_dir, saved)
    except ProjectError as exc:
        emit(Log(stage=STAGE, level="warning",
                 text=f"checkpoint at step {run.step} not written ({exc.message}); the previous "
                      "checkpoint is kept"))
        return
    emit(Log(stage=STAGE, level="debug", text=f"checkpoint at step {run.step}: {path}"))
