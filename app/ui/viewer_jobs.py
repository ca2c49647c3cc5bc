"""The 3D tab's background jobs (run in the window's pool; no Qt): reading models, the sparse
model with its stats and georeference, the floater highlight and the cropped export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from app.pipeline.formats.colmap import read_sparse_model
from app.pipeline.formats.model import LoadedModel, load_model
from app.pipeline.formats.splats import Splats
from app.pipeline.project import ProjectPaths
from app.viewer.scene_data import sparse_scene
from app.viewer.splat_data import SplatArrays, prepare
from app.viewer.splat_visual import DrawData


def read_json(path: Path) -> dict[str, Any] | None:
    """A small JSON file, or None when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_sparse_scene(model_dir: Path, paths: ProjectPaths | None) -> dict[str, Any]:
    """The sparse scene of a COLMAP model, with the project's stats.json and geo.json."""
    return {"scene": sparse_scene(read_sparse_model(model_dir)),
            "stats": read_json(paths.sfm_stats) if paths else None,
            "geo": read_json(paths.geo_json) if paths else None}


def load_draw_data(path: Path, task) -> tuple[LoadedModel, DrawData] | None:
    """Read a model and prepare what the splat visual uploads (progress and cancel via `task`)."""
    loaded = load_model(path, progress=lambda f, m: task.progress(0.6 * f, m))
    if task.cancelled:
        return None
    arrays = prepare(loaded.splats, progress=lambda f, m: task.progress(0.6 + 0.3 * f, m))
    if task.cancelled:
        return None
    task.progress(0.95, "packing textures")
    return loaded, DrawData.build(arrays)


def floater_flags(arrays: SplatArrays, box: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """1 for the slots export's floater filter would remove (after the crop, as export does)."""
    from app.pipeline.compress.filters import floater_mask

    n = len(arrays)
    keep = np.ones(n, bool) if box is None else np.all(
        (arrays.means >= box[0]) & (arrays.means <= box[1]), axis=1)
    ids = np.flatnonzero(keep)
    alpha = np.clip(arrays.opacity[ids].astype(np.float64), 1e-7, 1 - 1e-7)
    f = np.float32
    inside = Splats(arrays.means[ids], np.zeros((len(ids), 3), f),
                    np.tile(f([1, 0, 0, 0]), (len(ids), 1)), np.log(alpha / (1 - alpha)).astype(f),
                    np.zeros((len(ids), 3), f), np.zeros((len(ids), 0, 3), f))
    flags = np.zeros(n, np.float32)
    flags[ids[~floater_mask(inside)]] = 1.0
    return flags


def export_cropped(root: Path, out: Path, box: tuple[float, ...] | None, task) -> dict[str, Any]:
    """Export the project's trained splats to `out` (format from the name) inside `box`."""
    from app.pipeline.export import ExportOptions, SUFFIXES
    from app.pipeline.project import Project
    from app.pipeline.project_export import export_project
    from app.pipeline.stages import fetch_cloud_splats

    name = out.name.lower()
    fmt = next((f for f, s in sorted(SUFFIXES.items(), key=lambda kv: -len(kv[1]))
                if name.endswith(s)), "sog")
    project = Project.open(root, create=False)
    options = ExportOptions(crop=box, compress=project.settings.compress)

    def emit(event) -> None:
        if hasattr(event, "fraction"):
            task.progress(event.fraction, event.message)

    return export_project(project, fmt, out, options, emit=emit, fetch_splats=fetch_cloud_splats)
