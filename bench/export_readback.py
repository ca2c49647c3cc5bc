"""Export a project in every format and read each file back with PlayCanvas splat-transform.

Run from the repository root:  python bench/export_readback.py PROJECT [--out FILE]
For each format: size, ratio to the PLY, our own round-trip errors and render PSNR (from the
quality report), and splat-transform's reading of the file matched to the source PLY by nearest
neighbour (it reorders). Needs splat-transform (tests/tools/install_splat_transform.sh).
Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from app.pipeline import atomic  # noqa: E402
from app.pipeline.compress.quality import rotation_error_deg  # noqa: E402
from app.pipeline.export import FORMATS, SUFFIXES  # noqa: E402
from app.pipeline.project_export import export_project  # noqa: E402
from app.pipeline.formats.ply import read_ply  # noqa: E402
from app.pipeline.project import Project  # noqa: E402

CLI = Path(os.environ.get("SPLAT_TRANSFORM",
                          ROOT / ".tools/splat-transform/node_modules/.bin/splat-transform"))


def read_back(source, path: Path, offset: list[float], work: Path) -> dict:
    """splat-transform's reading of `path`, compared with the source splats."""
    back_ply = work / f"{path.name}.back.ply"
    subprocess.run([str(CLI), "-w", "-q", str(path), str(back_ply)], check=True,
                   capture_output=True, timeout=600)
    back = read_ply(back_ply)
    back.means += np.asarray(offset, np.float32)
    dist, index = cKDTree(source.means).query(back.means)
    ref = source.subset(index)
    visible = ref.alpha() >= 1 / 255
    return {"splats": len(back), "sh_degree": back.sh_degree,
            "position_mm": float(1000 * dist.mean()),
            "rotation_deg": float(rotation_error_deg(ref.quats, back.quats).mean()),
            "colour": float(np.abs(back.rgb() - ref.rgb())[visible].mean()),
            "opacity": float(np.abs(back.alpha() - ref.alpha()).mean()),
            "log_scale": float(np.abs(back.scales - ref.scales).mean())}


def main() -> None:
    """Export, read back, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/export_readback.json")
    args = parser.parse_args()
    project = Project.open(args.project, create=False)
    source = read_ply(project.paths.splats_ply)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for fmt in FORMATS:
            out = work / f"scene{SUFFIXES[fmt]}"
            t0 = time.perf_counter()
            report = export_project(project, fmt, out)
            seconds = time.perf_counter() - t0
            back = read_back(source, out, report["centre_offset_m"], work)
            render = report.get("render") or {}
            rows.append({"format": fmt, "bytes": report["bytes"], "ratio_to_ply": report["ratio_to_ply"],
                         "seconds": round(seconds, 2), "errors": report["errors"], "render": render,
                         "splat_transform": back})
    print(f"{len(source)} splats, SH {source.sh_degree}, PLY {project.paths.splats_ply.stat().st_size} bytes")
    print(f"{'format':15} {'bytes':>10} {'ratio':>6} {'s':>6} {'pos mm':>8} {'rot deg':>8} "
          f"{'render dB':>9} | splat-transform: {'n':>7} {'pos mm':>8} {'rot deg':>8} {'colour':>7}")
    for r in rows:
        b, e = r["splat_transform"], r["errors"]
        db = (r["render"].get("psnr_vs_uncompressed_db") or {}).get("mean", "-")
        print(f"{r['format']:15} {r['bytes']:>10} {r['ratio_to_ply']:>6} {r['seconds']:>6} "
              f"{e['position_mm']['mean']:>8.3f} {e['rotation_deg']['mean']:>8.3f} {db:>9} | "
              f"{'':16} {b['splats']:>7} {b['position_mm']:>8.3f} {b['rotation_deg']:>8.3f} "
              f"{b['colour']:>7.4f}")
    atomic.write_json(args.out, {"project": str(args.project), "splats": len(source), "rows": rows})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
