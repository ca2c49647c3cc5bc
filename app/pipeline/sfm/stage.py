"""The SfM stage: ingest's usable images -> validated, georeferenced PINHOLE model for training."""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from ..project import Project
from ..stage import Stage, StageContext
from ..ingest.stage import missing_flight_folder
from .flight import load_flight
from .handoff import RawResult, finish


class SfmStage(Stage):
    """Structure-from-Motion with pycolmap (default), OpenSfM, or an imported COLMAP model."""

    name = "sfm"
    upstream = ("ingest",)

    def run(self, ctx: StageContext) -> dict[str, Any]:
        """Reconstruct (or import), then validate and write the hand-off."""
        settings = ctx.settings
        paths = ctx.project.paths
        flight = load_flight(paths.flight_json, ctx.project.source)
        names = flight.names
        if not settings.import_from and not flight.source.is_dir():
            raise missing_flight_folder(flight.source)
        if settings.import_from:
            from .colmap_import import import_model

            ctx.log(f"importing the COLMAP model in {settings.import_from} (no SfM is run)")
            raw = import_model(ctx, settings.import_from, flight)
        elif settings.backend == "opensfm":
            from .opensfm import run_opensfm

            raw = run_opensfm(ctx, flight)
        elif settings.backend == "pycolmap":
            from .pycolmap_backend import reconstruct

            raw = reconstruct(ctx, flight)
        else:
            raise InputError(f"Unknown SfM backend {settings.backend!r}",
                             hint="set sfm.backend to pycolmap or opensfm")
        return finish(ctx, raw, flight, _expected(raw, names))

    def expected_bytes(self, project: Project) -> int:
        """About 3 MB per flight file (assumed): SIFT features and matches in the database and
        the undistorted hand-off copy (the runner's disk check before the first stage)."""
        source = project.source
        files = [p for p in source.iterdir() if p.is_file()] if source and source.is_dir() else []
        return 3 * 1024 * 1024 * len(files)

    def summary(self, outputs: dict[str, Any]) -> str:
        """e.g. '75/75 images registered, 79392 points, reprojection error 0.51 px, GPS
        residual 6.61 m'."""
        if not outputs:
            return ""
        error, residual = outputs.get("mean_reprojection_error_px"), outputs.get(
            "gps_residual_mean_m")
        return (f"{outputs.get('registered')}/{outputs.get('images')} images registered, "
                f"{outputs.get('points')} points"
                + (f", reprojection error {error:.2f} px" if error is not None else "")
                + (f", GPS residual {residual:.2f} m" if residual is not None
                   else ", not georeferenced"))


def _expected(raw: RawResult, names: list[str]) -> list[str]:
    """The images the model should contain: the flight's, or an import's own when they differ."""
    in_model = {im.name for m in raw.models for im in m.images.values()}
    if in_model & set(names):
        return names
    return sorted(in_model)
