"""compress_ply: the compression step as one call, for the stage and the cloud container."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..cancel import CancelToken
from ..events import Event, progress_emitter
from ..export import ExportOptions, export_splats
from .render_check import RenderCheck
from .settings import CompressSettings


def scene_path(out_dir: Path, settings: CompressSettings) -> Path:
    """scene.sog (bundle) or scene/meta.json (unbundled) inside `out_dir`."""
    return out_dir / "scene.sog" if settings.bundle else out_dir / "scene" / "meta.json"


def compress_ply(ply: Path, out_dir: Path, settings: CompressSettings,
                 emit: Callable[[Event], None], cancel: CancelToken | None,
                 georef: dict[str, Any] | None = None,
                 render_check: RenderCheck | None = None) -> dict[str, Any]:
    """Compress a 3DGS PLY to SOG in `out_dir` with quality.json and georef.json beside it."""
    out = scene_path(Path(out_dir), settings)
    out.parent.mkdir(parents=True, exist_ok=True)
    options = ExportOptions(sh_degree=settings.sh_degree, centre=settings.centre, compress=settings)
    return export_splats(Path(ply), "sog", out, options, progress_emitter(emit, "compress"),
                         cancel, georef, render_check)
