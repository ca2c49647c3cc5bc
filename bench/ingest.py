"""Benchmark of `spaceport ingest`: time for 250 and 1,000 images and peak memory (flat in N?).

The flight is built from real JPEGs (default: ../shared/data/brighton_beach/images). Image i is
source image i mod n with a fixed-width JPEG comment segment inserted after SOI, so every file is
distinct yet shares its size with the other copies of its source: the duplicate check must hash
all of them (the worst case for it). A few exact byte copies exercise the full-hash confirmation.
Each measurement runs in a fresh child process (peak RSS: VmHWM); the baseline is a bare
Pillow header loop (open + getexif + XMP) over the same files in the same run.

    python bench/ingest.py [--source DIR] [--sizes 250 1000] [--copies 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent.parent / "shared" / "data" / "brighton_beach" / "images"
if not DEFAULT_SOURCE.is_dir():
    DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "brighton_beach" / "images"

# VmHWM: this process's peak RSS (getrusage's ru_maxrss survives exec and would carry the parent's)
PEAK = """
def peak_rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""

CHILD_INGEST = """
import json, sys, time
from pathlib import Path
{PEAK}from app.pipeline.project import Project
from app.pipeline.runner import Runner
from app.pipeline.stages import default_stages
flight, out = Path(sys.argv[1]), Path(sys.argv[2])
project = Project.open(out, source=flight)
with project:
    t0 = time.perf_counter()
    ok = Runner(project, default_stages(), emit=lambda e: None).run(until="ingest")
    seconds = time.perf_counter() - t0
rec = project.record("ingest")
print(json.dumps({"ok": ok, "seconds": seconds, "outputs": rec.outputs, "reason": rec.reason,
                  "peak_rss_mb": peak_rss_mb()}))
"""

CHILD_BARE = """
import json, sys, time
from pathlib import Path
{PEAK}from PIL import Image
files = sorted(p for p in Path(sys.argv[1]).iterdir() if p.suffix.lower() == ".jpg")
t0 = time.perf_counter()
for p in files:
    with open(p, "rb") as f:
        im = Image.open(f)
        exif = im.getexif()
        exif.get_ifd(0x8769), exif.get_ifd(0x8825), im.info.get("xmp")
seconds = time.perf_counter() - t0
print(json.dumps({"ok": True, "seconds": seconds,
                  "peak_rss_mb": peak_rss_mb()}))
"""


def build_flight(source: Path, folder: Path, n: int, copies: int) -> None:
    """n distinct same-size-per-source JPEGs plus `copies` exact byte copies of the first ones."""
    sources = sorted(p for p in source.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    blobs = [p.read_bytes() for p in sources]
    folder.mkdir(parents=True)
    for i in range(n - copies):
        data = blobs[i % len(blobs)]
        tag = f"spaceport bench image {i:08d}".encode()
        comment = b"\xff\xfe" + (len(tag) + 2).to_bytes(2, "big") + tag  # JPEG COM segment
        (folder / f"IMG_{i:05d}.jpg").write_bytes(data[:2] + comment + data[2:])
    for j in range(copies):
        (folder / f"IMG_{n - copies + j:05d}.jpg").write_bytes((folder / f"IMG_{j:05d}.jpg").read_bytes())


def link_subset(full: Path, folder: Path, n: int) -> None:
    """A flight of the first n files of `full`, as hard links (no extra disk)."""
    folder.mkdir(parents=True)
    for p in sorted(full.iterdir())[:n]:
        (folder / p.name).hardlink_to(p)


def child(script: str, *args: str) -> dict:
    """Run a measurement in a fresh interpreter and return its JSON line."""
    out = subprocess.run([sys.executable, "-c", script.replace("{PEAK}", PEAK), *args], cwd=ROOT, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    """Build the flights, time ingest against the bare header loop, print a table, write JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--sizes", type=int, nargs="+", default=[250, 1000])
    ap.add_argument("--copies", type=int, default=10, help="exact duplicates among the images")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ingest.json")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="spaceport-bench-ingest-") as tmp:
        tmp_path = Path(tmp)
        biggest = max(args.sizes)
        build_flight(args.source, tmp_path / f"flight_{biggest}", biggest, args.copies)
        for n in sorted(args.sizes):
            flight = tmp_path / f"flight_{n}"
            if n != biggest:
                link_subset(tmp_path / f"flight_{biggest}", flight, n)
            runs = [child(CHILD_INGEST, str(flight), str(tmp_path / f"project_{n}_{r}"))
                    for r in range(args.repeats)]
            bare = [child(CHILD_BARE, str(flight)) for _ in range(args.repeats)]
            if not all(r["ok"] for r in runs):
                print(f"ingest failed: {runs[0]['reason']}", file=sys.stderr)
                return 1
            seconds = statistics.median(r["seconds"] for r in runs)
            bare_s = statistics.median(b["seconds"] for b in bare)
            rows.append({
                "images": n, "ingest_s": seconds, "ms_per_image": seconds / n * 1000,
                "bare_header_loop_s": bare_s, "ratio_vs_bare": seconds / bare_s,
                "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                "bare_peak_rss_mb": max(b["peak_rss_mb"] for b in bare),
                "usable": runs[0]["outputs"]["usable"], "duplicates": runs[0]["outputs"]["duplicates"],
                "all_runs_s": [r["seconds"] for r in runs],
            })
    small, large = rows[0], rows[-1]
    result = {"source": str(args.source), "copies": args.copies, "repeats": args.repeats,
              "rows": rows, "rss_ratio_largest_vs_smallest": large["peak_rss_mb"] / small["peak_rss_mb"],
              "target": "1,000 images in < 5 s, memory flat in N",
              "note": "files are in the page cache (just written); median of repeats"}
    print(f"{'images':>7} {'ingest s':>9} {'ms/img':>7} {'bare s':>7} {'x bare':>7} "
          f"{'peak MB':>8} {'bare MB':>8} {'usable':>7} {'dups':>5}")
    for r in rows:
        print(f"{r['images']:>7} {r['ingest_s']:>9.2f} {r['ms_per_image']:>7.2f} "
              f"{r['bare_header_loop_s']:>7.2f} {r['ratio_vs_bare']:>7.2f} {r['peak_rss_mb']:>8.1f} "
              f"{r['bare_peak_rss_mb']:>8.1f} {r['usable']:>7} {r['duplicates']:>5}")
    print(f"peak RSS {large['images']} vs {small['images']} images: "
          f"x{result['rss_ratio_largest_vs_smallest']:.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
