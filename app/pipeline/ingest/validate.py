"""Flight-level checks that mark images unusable: the operator's exclusions, duplicates, mixed
cameras, missing GPS."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..errors import InputError
from .duplicates import exact_duplicates
from .scan import FlightFile


def camera_key(entry: dict[str, Any]) -> str:
    """'MAKE MODEL WIDTHxHEIGHT', the identity of a camera setup (one intrinsics set for SfM)."""
    name = " ".join(p for p in (entry["make"], entry["model"]) if p) or "unknown camera"
    return f"{name} {entry['width']}x{entry['height']}"


def skip(entry: dict[str, Any], reason: str) -> None:
    """Mark an image unusable with the reason (and the fix) the operator reads."""
    entry["usable"], entry["reason"] = False, reason


def mark_duplicates(entries: list[dict[str, Any]], files: list[FlightFile]) -> list[list[str]]:
    """Skip exact copies of a usable image (the first in name order is kept); return the groups."""
    by_rel = {e["file"]: e for e in entries}
    groups = exact_duplicates(f for f in files if by_rel[f.rel]["usable"])
    for group in groups:
        for copy in group[1:]:
            skip(by_rel[copy.rel], f"exact duplicate of {group[0].rel} -- remove the copy from "
                                   f"the flight folder")
    return [[f.rel for f in group] for group in groups]


def apply_camera_policy(entries: list[dict[str, Any]], policy: str) -> dict[str, int]:
    """Count usable images per camera; with policy 'majority' skip those of the other cameras."""
    counts = Counter(camera_key(e) for e in entries if e["usable"])
    if len(counts) > 1 and policy == "fail":
        listing = ", ".join(f"{cam} ({n} image{'s' * (n != 1)})" for cam, n in counts.most_common())
        raise InputError(f"The flight mixes cameras: {listing}",
                         hint="process each camera's images as their own flight, or set "
                              "ingest.mixed_cameras=majority (keep the main camera) or keep")
    if len(counts) > 1 and policy == "majority":
        main = counts.most_common(1)[0][0]
        for e in entries:
            if e["usable"] and camera_key(e) != main:
                skip(e, f"taken with {camera_key(e)}, not the flight's main camera {main} -- "
                        f"process each camera's images as their own flight, or set "
                        f"ingest.mixed_cameras=keep")
    return dict(counts)


def apply_gps_policy(entries: list[dict[str, Any]], require_gps: bool) -> None:
    """With require_gps, skip usable images that have no valid GPS position."""
    if not require_gps:
        return
    for e in entries:
        if e["usable"] and e["gps"] is None:
            skip(e, f"no valid GPS position ({e['gps_status']}) and ingest.require_gps is set -- "
                    f"remove it or set ingest.require_gps=false")


EXCLUDED = "excluded by the operator"


def apply_exclusions(entries: list[dict[str, Any]], exclude: list[str]) -> list[str]:
    """Skip the images named in `exclude` (ingest.exclude); returns the names not in the flight."""
    wanted = set(exclude)
    for e in entries:
        if e["file"] in wanted:
            skip(e, EXCLUDED)
    return sorted(wanted - {e["file"] for e in entries})
