"""CompressStage: train/splats.ply -> compress/scene.sog (+ scene.sog.quality.json, .georef.json).

When training ran in the cloud with chained compression, the SOG that job left is taken as is;
when the trained PLY stayed in S3 (the chain failed, or settings changed since), it is fetched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..export import read_georef, sidecar, trained_splats
from ..stage import Stage, StageContext
from .compress_ply import compress_ply
from .render_check import project_render_check, skipped

CLOUD_RENDER = "compressed in the cloud: the uncompressed splats stayed in S3"


class CompressStage(Stage):
    """PlayCanvas SOG of the trained splats, with its quality report."""

    name = "compress"
    upstream = ("train",)

    def run(self, ctx: StageContext) -> dict[str, Any]:
        """Compress the trained PLY (or take the cloud's SOG); outputs relative to the project."""
        from ..cloud.offload import cloud_compress_outputs

        project = ctx.project
        paths = project.paths
        taken = cloud_compress_outputs(project)
        if taken is not None and taken.get("report"):
            ctx.log(f"taking {taken['scene_sog']} from the cloud job {taken['cloud_job']}")
            report = dict(taken["report"])
            report.setdefault("render", skipped(CLOUD_RENDER))
        else:
            ply = trained_splats(project, ctx.emit, ctx.cancel, "compress")
            report = compress_ply(ply, ctx.out_dir, ctx.settings, ctx.emit, ctx.cancel,
                                  read_georef(paths.geo_json), project_render_check(project))
        out = Path(report["output"])

        def rel(p: Path) -> str:
            return p.relative_to(paths.root).as_posix()

        render = report.get("render") or {}
        return {"scene": rel(out), "quality": rel(sidecar(out, "quality")),
                "georef": rel(sidecar(out, "georef")), "bytes": report["bytes"],
                "ratio_to_ply": report["ratio_to_ply"], "splats": report["splats"]["written"],
                "position_error_mm": round(report["errors"]["position_mm"]["mean"], 3),
                "render_psnr_db": (render.get("psnr_vs_uncompressed_db") or {}).get("mean")}

    def summary(self, outputs: dict[str, Any]) -> str:
        """e.g. 'compress/scene.sog 13.9 MB, 17.8x smaller, position error 2.1 mm,
        render PSNR 52.8 dB vs uncompressed'."""
        render = outputs.get("render_psnr_db")
        return (f"{outputs.get('scene')} {outputs.get('bytes', 0) / 1e6:.1f} MB, "
                f"{outputs.get('ratio_to_ply')}x smaller, "
                f"position error {outputs.get('position_error_mm')} mm"
                + (f", render PSNR {render} dB vs uncompressed" if render is not None else ""))
