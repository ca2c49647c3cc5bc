"""Shared by the training benchmarks: prepare a project through SfM, train it, print a table."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.pipeline.events import Log, StageFailed  # noqa: E402
from app.pipeline.project import Project  # noqa: E402
from app.pipeline.runner import Runner  # noqa: E402
from app.pipeline.stage import CancelToken  # noqa: E402
from app.pipeline.stages import default_stages  # noqa: E402
from app.pipeline.train.settings import TrainSettings  # noqa: E402
from app.pipeline.train.trainer import train_model  # noqa: E402


def prepare(flight: Path, project_dir: Path) -> Project:
    """Run ingest and SfM on `flight` into `project_dir` (skipped when already done)."""
    project = Project.open(project_dir, source=flight)

    def show(event: Any) -> None:
        if isinstance(event, StageFailed):
            print(f"[{event.stage}] failed: {event.reason} ({event.hint})", file=sys.stderr)

    with project:
        if not Runner(project, default_stages(), show).run(until="sfm"):
            raise SystemExit(f"SfM failed on {flight}")
    return project


def train(project: Project, out_dir: Path, settings: TrainSettings, device: str) -> dict:
    """Train the project's SfM model into out_dir; the outputs plus wall time and steps/s."""
    import torch

    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    logs: list[str] = []

    def keep(event: Any) -> None:
        if isinstance(event, Log) and event.level in ("info", "warning"):
            logs.append(event.text)

    start = time.perf_counter()
    outputs = train_model(project.paths.sfm_model, project.paths.sfm_images, out_dir, settings,
                          keep, CancelToken(), out_dir / "checkpoints", device=device)
    wall = time.perf_counter() - start
    outputs.update(wall_s=round(wall, 1), steps_per_s=round(outputs["steps"] / outputs["seconds"], 2),
                   settings=dataclasses.asdict(settings), log=logs)
    if device.startswith("cuda"):
        outputs["peak_gpu_mem_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return outputs


def table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """A plain-text table of `rows` with (key, heading) columns."""
    cells = [[h for _, h in columns]] + [[_fmt(r.get(k)) for k, _ in columns] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(columns))]
    return "\n".join("  ".join(c[i].rjust(widths[i]) for i in range(len(columns))) for c in cells)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if isinstance(value, float) and abs(value) < 1000 else str(value)


def write(path: Path, data: Any) -> None:
    """Write the results JSON (bench output, not a pipeline file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    print(f"wrote {path}")
