"""The quality report of an export or of the compress stage, as rows an operator reads; and
where a project keeps what the Results view shows. Qt-free.

A report is what `export_splats` writes beside its file (`<file>.quality.json`): sizes, splat
counts, per-attribute round-trip errors and, when the held-out views could be rendered, the
render PSNR against the uncompressed splats and against the photos.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.pipeline.project import Project

from .export_dialog_model import human_bytes

REMOVED = {"outside_crop": "outside the crop box", "floaters": "floaters",
           "nonfinite": "NaN/inf"}


def read_report(path: Path) -> dict[str, Any] | None:
    """A quality report from disk, or None when it is absent or unreadable."""
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def report_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) rows: file, size and ratio, splats, errors, render PSNR, time."""
    rows = [("File", str(report.get("output", "?"))),
            ("Format", f"{report.get('format', '?')}, SH degree {report.get('sh_degree', '?')}")]
    size, source = report.get("bytes"), report.get("source_bytes")
    if size is not None:
        rows.append(("Size", f"{human_bytes(size)}, {report.get('ratio_to_ply', '?')}x smaller "
                             f"than the PLY ({human_bytes(source or 0)})"))
    splats = report.get("splats") or {}
    if splats:
        removed = ", ".join(f"{n:,} {REMOVED.get(k, k)}"
                            for k, n in (splats.get("removed") or {}).items() if n)
        rows.append(("Splats", f"{splats.get('written', 0):,} of {splats.get('in_file', 0):,}"
                               + (f" (removed: {removed})" if removed else "")))
    errors = report.get("errors") or {}
    if "position_mm" in errors:
        e = errors["position_mm"]
        rows.append(("Position error", f"mean {e['mean']:.3f} mm, p99 {e['p99']:.3f} mm, "
                                       f"max {e['max']:.3f} mm"))
    if "rotation_deg" in errors:
        rows.append(("Rotation error", f"mean {errors['rotation_deg']['mean']:.3f} deg"))
    if "colour" in errors:
        rows.append(("Colour error", f"mean {errors['colour']['mean']:.4f} (0..1 per channel)"))
    rows.extend(_render_rows(report.get("render")))
    seconds = report.get("seconds") or {}
    if seconds:
        rows.append(("Time", ", ".join(f"{k.replace('_', ' ')} {v:.1f} s"
                                       for k, v in seconds.items())))
    return rows


def _render_rows(render: dict[str, Any] | None) -> list[tuple[str, str]]:
    if not render:
        return [("Render PSNR", "not measured")]
    if "skipped" in render:
        return [("Render PSNR", f"not measured: {render['skipped']}")]
    vs, photos = render["psnr_vs_uncompressed_db"], render["psnr_vs_photos_db"]
    return [("Render PSNR vs uncompressed",
             f"{vs['mean']:.2f} dB (worst view {vs['min']:.2f} dB) on {render['views']} held-out "
             f"view(s) at {render['resolution']}"),
            ("Render PSNR vs photos",
             f"{photos['uncompressed']:.2f} dB uncompressed, {photos['compressed']:.2f} dB "
             f"compressed (loss {photos['loss']:.2f} dB)")]


def stage_outputs(project: Project, stage: str) -> dict[str, Any]:
    """A stage's recorded outputs, without adding a record for a stage the project lacks."""
    record = project.stages.get(stage)
    return (record.outputs if record is not None else None) or {}


@dataclass(frozen=True)
class ResultFiles:
    """What the Results view shows of a project, and the training figures beside the image."""

    heldout_png: Path | None
    quality_json: Path | None
    psnr: float | None
    ssim: float | None


def result_files(project: Project) -> ResultFiles:
    """The held-out render|photo image and the compress stage's quality report (absent: None)."""
    paths = project.paths
    train, compress = (stage_outputs(project, name) for name in ("train", "compress"))
    # the stage's outputs name files relative to the project (train/heldout.png)
    png = paths.root / train["heldout_image"] if train.get("heldout_image") else \
        paths.train / "heldout.png"
    quality = paths.root / compress["quality"] if compress.get("quality") else \
        paths.compress / "scene.sog.quality.json"
    return ResultFiles(png if png.is_file() else None, quality if quality.is_file() else None,
                       train.get("psnr"), train.get("ssim"))
