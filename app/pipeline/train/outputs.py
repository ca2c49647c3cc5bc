"""What training writes as it goes and at the end: metrics.jsonl, TrainMetrics and Progress
events, preview PLYs, and the final splats.ply."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .. import atomic
from ..events import Event, JsonlSink, PreviewSnapshot, Progress, TrainMetrics
from ..formats.ply import write_ply
from .evaluate import Evaluation
from .model import to_splats

STAGE = "train"
PREVIEWS_KEPT = 3


class Reporter:
    """Turns training steps into metrics lines, events and previews at a steady cadence."""

    def __init__(self, out_dir: Path, start_step: int, emit: Callable[[Event], None]) -> None:
        self.out_dir = Path(out_dir)
        self.metrics_path = self.out_dir / "metrics.jsonl"
        self.previews = self.out_dir / "previews"
        _trim_metrics(self.metrics_path, start_step)
        self._sink = JsonlSink(self.metrics_path)
        self.emit = emit
        self._losses: list[float] = []
        self._mark = (start_step, time.perf_counter())
        self.last_evaluation: Evaluation | None = None

    def step(self, step: int, total: int, loss: float, num_gaussians: int,
             evaluation: Evaluation | None, report: bool) -> None:
        """Record a finished step; on report steps emit TrainMetrics + Progress and log a line."""
        self._losses.append(loss)
        if evaluation is not None:
            self.last_evaluation = evaluation
        if not report:
            return
        now, (mark_step, mark_time) = time.perf_counter(), self._mark
        rate = (step - mark_step) / max(now - mark_time, 1e-9)
        metrics = TrainMetrics(
            stage=STAGE, step=step, total_steps=total, loss=float(np.mean(self._losses)),
            psnr=evaluation.psnr if evaluation else None,
            ssim=evaluation.ssim if evaluation else None, num_gaussians=num_gaussians,
            it_per_s=rate, eta_s=(total - step) / rate if rate > 0 else None,
            gpu_mem_mb=(torch.cuda.max_memory_allocated() / 2**20
                        if torch.cuda.is_available() else None))
        self._sink(metrics)
        self.emit(metrics)
        self.emit(Progress(stage=STAGE, fraction=step / total,
                           message=f"step {step}/{total}, {num_gaussians} Gaussians"))
        self._losses, self._mark = [], (step, now)

    def preview(self, params: dict[str, torch.Tensor], step: int, max_gaussians: int) -> Path:
        """Write a subsample of the splats for the viewer and announce it."""
        splats = to_splats(params)
        splats = splats.subset(splats.finite_mask())
        if len(splats) > max_gaussians:
            keep = np.random.default_rng(step).choice(len(splats), max_gaussians, replace=False)
            splats = splats.subset(np.sort(keep))
        path = self.previews / f"step_{step:06d}.ply"
        write_ply(path, splats)
        for old in sorted(self.previews.glob("step_*.ply"))[:-PREVIEWS_KEPT]:
            old.unlink(missing_ok=True)
        self.emit(PreviewSnapshot(stage=STAGE, path=str(path), step=step,
                                  num_gaussians=len(splats)))
        return path

    def close(self) -> None:
        """Close metrics.jsonl."""
        self._sink.close()


def _trim_metrics(path: Path, step: int) -> None:
    """Drop lines a killed run wrote after the step it resumes from."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line).get("step", 0) <= step:
                kept.append(line)
        except ValueError:
            continue  # a torn last line
    atomic.write_text(path, "".join(line + "\n" for line in kept))


def write_outputs(out_dir: Path, params: dict[str, torch.Tensor], final: Evaluation | None,
                  extra: dict[str, Any], steps: int, seconds: float, device: str) -> dict[str, Any]:
    """Write splats.ply; the outputs dict (files relative to out_dir, and the run's figures)."""
    splats = to_splats(params)
    write_ply(Path(out_dir) / "splats.ply", splats)
    return {"splats": "splats.ply", "metrics": "metrics.jsonl",
            "heldout_image": "heldout.png" if final else None,
            "steps": steps, "num_gaussians": len(splats), "device": device,
            "seconds": round(seconds, 1),
            "psnr": round(final.psnr, 3) if final else None,
            "ssim": round(final.ssim, 4) if final else None,
            "initial_psnr": (round(extra["initial_psnr"], 3)
                             if extra.get("initial_psnr") is not None else None)}
