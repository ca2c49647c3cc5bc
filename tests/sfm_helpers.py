"""Helpers of the SfM tests: a minimal flight.json for a folder of JPEGs, and a stage runner.

The ingest stage writes the real flight.json; this tiny reader (PIL EXIF GPS, DJI XMP tags)
lets the SfM tests run on their own, in the format of the contract.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from PIL import Image

from app.pipeline.events import Event
from app.pipeline.project import Project
from app.pipeline.runner import Runner
from app.pipeline.sfm.stage import SfmStage

_DJI = {"relative_altitude": "RelativeAltitude", "gimbal_pitch": "GimbalPitchDegree",
        "gimbal_yaw": "GimbalYawDegree", "flight_yaw": "FlightYawDegree"}


def _gps(exif: Image.Exif) -> dict[str, float] | None:
    g = exif.get_ifd(0x8825)
    if 2 not in g or 4 not in g:
        return None

    def dms(v: Any) -> float:
        return float(v[0]) + float(v[1]) / 60 + float(v[2]) / 3600

    lat = dms(g[2]) * (-1 if g.get(1) == "S" else 1)
    lon = dms(g[4]) * (-1 if g.get(3) == "W" else 1)
    alt = float(g.get(6, 0.0)) * (-1 if g.get(5) == 1 else 1)
    return {"lat": lat, "lon": lon, "alt": alt}


def flight_entry(path: Path, root: Path) -> dict[str, Any]:
    """One flight.json image entry, read from a JPEG's EXIF and DJI XMP."""
    with Image.open(path) as im:
        exif = im.getexif()
        width, height = im.size
    head = path.read_bytes()[:300_000].decode("latin1")
    dji = {k: float(m.group(1)) for k, tag in _DJI.items()
           if (m := re.search(rf'drone-dji:{tag}="([-+0-9.]+)"', head))}
    f35 = exif.get_ifd(0x8769).get(0xA405)
    return {"file": path.relative_to(root).as_posix(), "usable": True, "reason": None,
            "width": width, "height": height, "make": exif.get(0x010F),
            "model": exif.get(0x0110), "focal_length_mm": None,
            "focal_length_35mm": float(f35) if f35 else None, "focal_length_px": None,
            "timestamp": None, "gps": _gps(exif), "dji": dji or None,
            "size_bytes": path.stat().st_size}


def write_flight_json(project: Project, folder: Path, names: list[str] | None = None,
                      drop_gps: set[str] = frozenset()) -> None:
    """flight.json for the JPEGs of `folder` (or the given names), optionally without GPS."""
    files = [folder / n for n in names] if names else sorted(
        p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    images = [flight_entry(p, folder) for p in files]
    for entry in images:
        if entry["file"] in drop_gps:
            entry["gps"] = None
    project.paths.ingest.mkdir(parents=True, exist_ok=True)
    project.paths.flight_json.write_text(json.dumps(
        {"schema_version": 1, "source": str(folder), "images": images, "report": {}}))


def run_sfm(project: Project, **settings: Any) -> tuple[bool, list[Event]]:
    """Run only the SfM stage on a project whose flight.json exists; returns (ok, events)."""
    for key, value in settings.items():
        setattr(project.settings.sfm, key, value)
    events: list[Event] = []
    with project:
        ok = Runner(project, [SfmStage()], emit=events.append).run()
    return ok, events
