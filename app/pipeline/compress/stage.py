"""CompressStage: train/splats.ply -> compress/scene.sog (+ scene.sog.quality.json, .georef.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..export import read_georef, sidecar
from ..stage import Stage, StageContext
from .compress_ply import compress_ply


class CompressStage(Stage):
    """PlayCanvas SOG of the trained splats, with its quality report."""

    name = "compress"
    upstream = ("train",)

    def run(self, ctx: StageContext) -> dict[str, Any]:
        """Compress the trained PLY; outputs name the files relative to the project."""
        paths = ctx.project.paths
        report = compress_ply(paths.splats_ply, ctx.out_dir, ctx.settings, ctx.emit, ctx.cancel,
                              read_georef(paths.geo_json))
        out = Path(report["output"])

        def rel(p: Path) -> str:
            return p.relative_to(paths.root).as_posix()

        return {"scene": rel(out), "quality": rel(sidecar(out, "quality")),
                "georef": rel(sidecar(out, "georef")), "bytes": report["bytes"],
                "ratio_to_ply": report["ratio_to_ply"], "splats": report["splats"]["written"],
                "position_error_mm": round(report["errors"]["position_mm"]["mean"], 3)}

    def summary(self, outputs: dict[str, Any]) -> str:
        """e.g. 'compress/scene.sog 13.9 MB, 17.8x smaller, position error 2.1 mm'."""
        return (f"{outputs.get('scene')} {outputs.get('bytes', 0) / 1e6:.1f} MB, "
                f"{outputs.get('ratio_to_ply')}x smaller, "
                f"position error {outputs.get('position_error_mm')} mm")
