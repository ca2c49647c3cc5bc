"""Benchmark: SOG compression of a 1M-splat SH3 synthetic scene (200 m), against splat-transform.

Run from the repository root:  python bench/compress.py [--splats 1000000] [--out FILE]
Prints a table and writes JSON. Figures that depend on the machine are reported as ratios to
splat-transform 2.7.1 (`-g cpu IN -H 0 OUT.sog`) run on the same input in the same run; it is
skipped (and the ratios left out) when node or the package is absent
(tests/tools/install_splat_transform.sh installs it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from app.pipeline.compress.quality import roundtrip_errors  # noqa: E402
from app.pipeline.compress.settings import CompressSettings  # noqa: E402
from app.pipeline.compress.sog_read import read_sog  # noqa: E402
from app.pipeline.export import ExportOptions, export_splats  # noqa: E402
from app.pipeline.formats.ply import read_ply, write_ply  # noqa: E402
from splat_scenes import drone_scene  # noqa: E402

CLI = Path(os.environ.get("SPLAT_TRANSFORM",
                          ROOT / ".tools/splat-transform/node_modules/.bin/splat-transform"))


def ours(ply: Path, out: Path, sh_degree: int) -> dict:
    """Export SOG through the pipeline's export (read PLY, centre, encode, save, verify)."""
    options = ExportOptions(sh_degree=sh_degree, compress=CompressSettings(sh_degree=sh_degree))
    t = time.perf_counter()
    report = export_splats(ply, "sog", out, options)
    total = time.perf_counter() - t
    written = report["seconds"]["read_and_select"] + report["seconds"]["write"]
    return {"seconds_to_sog": round(written, 2), "seconds_with_verify": round(total, 2),
            "bytes": report["bytes"], "ratio_to_ply": report["ratio_to_ply"],
            "position_mm_mean": round(report["errors"]["position_mm"]["mean"], 3),
            "position_mm_max": round(report["errors"]["position_mm"]["max"], 3),
            "rotation_deg_mean": round(report["errors"]["rotation_deg"]["mean"], 3),
            "log_scale_mean": round(report["errors"]["log_scale"]["mean"], 4),
            "colour_mean": round(report["errors"]["colour"]["mean"], 4),
            "sh_rest_mean": round(report["errors"].get("sh_rest", {}).get("mean", 0.0), 4)}


def theirs(ply: Path, out: Path, source) -> dict | None:
    """splat-transform -g cpu IN -H 0 OUT.sog: time, size and (NN-matched) position error."""
    if not (shutil.which("node") and CLI.exists()):
        return None
    from scipy.spatial import cKDTree

    t = time.perf_counter()
    subprocess.run([str(CLI), "-w", "-q", "-g", "cpu", str(ply), "-H", "0", str(out)], check=True)
    seconds = time.perf_counter() - t
    back = read_sog(out)
    _, index = cKDTree(source.means).query(back.means, workers=-1)
    errors = roundtrip_errors(source.subset(index).with_sh_degree(0), back)
    return {"seconds_to_sog": round(seconds, 2), "bytes": out.stat().st_size,
            "ratio_to_ply": round(ply.stat().st_size / out.stat().st_size, 2),
            "position_mm_mean": round(errors["position_mm"]["mean"], 3),
            "position_mm_max": round(errors["position_mm"]["max"], 3),
            "rotation_deg_mean": round(errors["rotation_deg"]["mean"], 3),
            "log_scale_mean": round(errors["log_scale"]["mean"], 4),
            "colour_mean": round(errors["colour"]["mean"], 4)}


def main() -> int:
    """Run the benchmark, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--splats", type=int, default=1_000_000)
    parser.add_argument("--extent", type=float, default=200.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "compress.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-compress-") as tmp:
        tmp = Path(tmp)
        scene = drone_scene(args.splats, extent=args.extent, sh_degree=3, seed=1,
                            offset=(350.0, -120.0, 25.0))
        write_ply(tmp / "scene.ply", scene)
        source = read_ply(tmp / "scene.ply")
        rows = {"ours SH3": ours(tmp / "scene.ply", tmp / "ours3.sog", 3),
                "ours H0": ours(tmp / "scene.ply", tmp / "ours0.sog", 0),
                "splat-transform H0": theirs(tmp / "scene.ply", tmp / "theirs0.sog", source)}
        ply_bytes = (tmp / "scene.ply").stat().st_size
    ref = rows["splat-transform H0"]
    for name in ("ours SH3", "ours H0"):
        if ref:
            rows[name]["time_vs_splat_transform_H0"] = round(
                rows[name]["seconds_to_sog"] / ref["seconds_to_sog"], 2)
            rows[name]["size_vs_splat_transform_H0"] = round(rows[name]["bytes"] / ref["bytes"], 3)
    result = {"splats": args.splats, "extent_m": args.extent, "ply_bytes": ply_bytes,
              "cpus": os.cpu_count(), "rows": rows,
              "targets": {"ours SH3 seconds_to_sog < 30": rows["ours SH3"]["seconds_to_sog"] < 30,
                          "ours SH3 ratio_to_ply >= 15": rows["ours SH3"]["ratio_to_ply"] >= 15,
                          "ours SH3 position_mm_mean < 10": rows["ours SH3"]["position_mm_mean"] < 10}}
    keys = ["seconds_to_sog", "bytes", "ratio_to_ply", "position_mm_mean", "position_mm_max",
            "rotation_deg_mean", "log_scale_mean", "colour_mean", "time_vs_splat_transform_H0",
            "size_vs_splat_transform_H0"]
    print(f"{args.splats} splats, {args.extent:.0f} m, PLY {ply_bytes / 1e6:.1f} MB")
    print(f"{'':22s}" + "".join(f"{k[:18]:>20s}" for k in keys))
    for name, row in rows.items():
        cells = "".join(f"{str(row.get(k, '-')) if row else 'absent':>20s}" for k in keys)
        print(f"{name:22s}{cells}")
    print(json.dumps(result["targets"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
