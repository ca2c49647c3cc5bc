"""A project's trained splats exported (the CLI's `export`, the window's export dialog, the
compress stage's input): where the PLY is, fetched by a function the caller hands in when a
cloud training left it in S3, and the render check on the project's held-out views."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from .cancel import CancelToken
from .compress.render_check import RenderCheck, render_psnr, skipped
from .errors import InputError
from .events import Event, Log, progress_emitter
from .export import ExportOptions, export_splats, read_georef
from .formats.splats import Splats
from .project import Project

FetchSplats = Callable[[Project, Callable[[Event], None], "CancelToken | None"], Path]
HANDOFF_FILES = ("cameras.bin", "images.bin", "points3D.bin")


def trained_splats(project: Project, emit: Callable[[Event], None], cancel: CancelToken | None,
                   stage: str, fetch_splats: FetchSplats | None) -> Path:
    """train/splats.ply, fetched first by `fetch_splats` when a cloud training left it in S3."""
    ply = project.paths.splats_ply
    if ply.exists() or not (project.record("train").outputs or {}).get("cloud"):
        return ply
    if fetch_splats is None:
        raise InputError(f"{ply} stayed in the cloud and this caller cannot fetch it", path=ply,
                         hint="export from Spaceport's window or command line, which fetch it")
    emit(Log(stage=stage, text=f"{ply.name} stayed in the cloud: downloading it"))
    return fetch_splats(project, emit, cancel)


def project_render_check(project: Project, cancel: CancelToken | None = None) -> RenderCheck:
    """The render check of a project's export: its held-out views when it has the SfM hand-off
    (`cancel` stops it between views)."""
    settings, train = project.settings.compress, project.settings.train
    model, images = project.paths.sfm_model, project.paths.sfm_images

    def check(reference: Splats, decoded: Splats) -> dict[str, Any]:
        if not settings.render_check:
            return skipped("compress.render_check is off")
        if train.eval_every_n_image <= 1:
            return skipped(f"train.eval_every_n_image = {train.eval_every_n_image} holds no "
                           "view out of training")
        if not all((model / f).is_file() for f in HANDOFF_FILES) or not images.is_dir():
            return skipped(f"no SfM hand-off in {model.parent} (the held-out views come from it)")
        return render_psnr(model, images, train.eval_every_n_image, reference, decoded, settings,
                           train.max_side, cancel)
    return check


def export_project(project: Project, fmt: str, out: Path, options: ExportOptions | None = None,
                   emit: Callable[[Event], None] | None = None, cancel: CancelToken | None = None,
                   fetch_splats: FetchSplats | None = None) -> dict[str, Any]:
    """Export a project's trained splats to `out` in `fmt`; returns the quality report."""
    emit = emit or (lambda e: None)
    if options is None:
        options = ExportOptions(compress=project.settings.compress)
    ply = trained_splats(project, emit, cancel, "export", fetch_splats)
    report = export_splats(ply, fmt, Path(out), options, progress_emitter(emit, "export"), cancel,
                           read_georef(project.paths.geo_json),
                           project_render_check(project, cancel))
    emit(Log(stage="export", text=f"exported {report['splats']['written']} splats to {out} "
                                  f"({report['bytes']} bytes, {report['ratio_to_ply']}x smaller)"))
    return report
