"""CompressStage: train/splats.ply -> compress/scene.sog (+ scene.sog.quality.json, .georef.json).

When a cloud training chained its compression, the SOG it brought home (compress/prebuilt.json)
is taken as is while it matches the training and the settings; otherwise the trained PLY is
compressed here, fetched first by the function the stage was given when it stayed in S3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..export import read_georef, sidecar
from ..project_export import FetchSplats, project_render_check, trained_splats
from ..stage import Stage, StageContext
from .compress_ply import compress_ply
from .prebuilt import usable_prebuilt
from .render_check import skipped

CLOUD_RENDER = "compressed in the cloud: the uncompressed splats stayed in S3"


class CompressStage(Stage):
    """PlayCanvas SOG of the trained splats, with its quality report."""

    name = "compress"
    upstream = ("train",)

    def __init__(self, fetch_splats: FetchSplats | None = None) -> None:
        self.fetch_splats = fetch_splats  # downloads a cloud-trained PLY (None: only local ones)

    def run(self, ctx: StageContext) -> dict[str, Any]:
        """Compress the trained PLY (or take the cloud's SOG); outputs relative to the project."""
        project = ctx.project
        paths = project.paths
        made_from = ((project.record("train").outputs or {}).get("cloud") or {}).get("train_job")
        prebuilt = usable_prebuilt(paths.compress, made_from, ctx.settings)
        if prebuilt is not None:
            ctx.log(f"taking the compression the cloud job made after {made_from}")
            report = dict(prebuilt.report)
            report["output"] = str(paths.compress / report["output"])
            report.setdefault("render", skipped(CLOUD_RENDER))
        else:
            ply = trained_splats(project, ctx.emit, ctx.cancel, "compress", self.fetch_splats)
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
        render, ratio = outputs.get("render_psnr_db"), outputs.get("ratio_to_ply")
        error = outputs.get("position_error_mm")
        return (f"{outputs.get('scene')} {outputs.get('bytes', 0) / 1e6:.1f} MB"
                + (f", {ratio:.1f}x smaller" if ratio is not None else "")
                + (f", position error {error:.1f} mm" if error is not None else "")
                + (f", render PSNR {render:.1f} dB vs uncompressed" if render is not None else ""))
