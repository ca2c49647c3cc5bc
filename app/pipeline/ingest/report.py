"""The validation report of a flight (report.json for the UI) and its human summary (terminal)."""

from __future__ import annotations

from typing import Any

from . import geometry, gps_quality, image_quality
from .scan import FlightListing

LOW_OVERLAP = 0.6  # forward overlap below this makes SfM fragile
LIST_LIMIT = 10  # files named per list in the human text


def build_report(entries: list[dict[str, Any]], listing: FlightListing, cameras: dict[str, int],
                 duplicates: list[list[str]], quality: dict[str, dict[str, Any]]
                 ) -> dict[str, Any]:
    """Counts, reasons, GPS coverage and quality, cameras, duplicates, flight geometry and
    image quality of the usable images (`entries` in capture order)."""
    usable = [e for e in entries if e["usable"]]
    located = [e for e in usable if e["gps"]]
    status = [e["gps_status"] for e in usable]
    report: dict[str, Any] = {
        "images_total": len(entries),
        "images_usable": len(usable),
        "unusable": [{"file": e["file"], "reason": e["reason"]} for e in entries if not e["usable"]],
        "other_files": {"count": len(listing.others), "examples": [f.rel for f in listing.others[:5]]},
        "gps": {"with_gps": status.count("ok"), "missing": status.count("missing"),
                "invalid": status.count("invalid"),
                "coverage": len(located) / len(usable) if usable else 0.0},
        "cameras": cameras,
        "mixed_cameras": len(cameras) > 1,
        "oblique_images": sum(not geometry.is_nadir(e) for e in usable),
        "duplicates": duplicates,
        "extent": geometry.extent(located),
        "altitude": geometry.altitude(usable),
        "gsd_cm_per_px": geometry.ground_sampling_distance(usable),
        "forward_overlap": geometry.forward_overlap(located),
        "gps_quality": gps_quality.assess_gps(usable),
        "image_quality": {e["file"]: quality[e["file"]] for e in usable if e["file"] in quality},
    }
    report["warnings"] = _warnings(report, entries)
    return report


def _warnings(report: dict[str, Any], entries: list[dict[str, Any]]) -> list[str]:
    warnings = []
    if report["mixed_cameras"]:
        warnings.append("mixed cameras: " + ", ".join(f"{k} ({n})" for k, n in report["cameras"].items()))
    gps = report["gps"]
    if report["images_usable"] and gps["coverage"] == 0:
        warnings.append("no usable image has a GPS position: the model will be in local "
                        "coordinates, not placed on the map")
    elif report["images_usable"] and gps["coverage"] < 1.0:
        warnings.append(f"only {gps['coverage']:.0%} of usable images have a valid GPS position")
    quality = report["gps_quality"]
    if "noisy" in _verdicts(quality) or "unreliable" in _verdicts(quality):
        warnings.append(gps_quality.summary(quality))
    warnings.extend(image_quality.summary(report["image_quality"]))
    if report["oblique_images"]:
        warnings.append(f"{report['oblique_images']} oblique image(s) (gimbal pitch above "
                        f"{geometry.NADIR_PITCH_DEG:.0f} degrees) left out of the GSD and overlap estimates")
    for e in entries:
        warnings.extend(f"{e['file']}: {w}" for w in e["warnings"])
    if report["duplicates"]:
        warnings.append(f"{sum(len(g) - 1 for g in report['duplicates'])} exact duplicate image(s) skipped")
    overlap = report["forward_overlap"]
    if overlap and overlap["median"] < LOW_OVERLAP:
        warnings.append(f"forward overlap is low ({overlap['median']:.0%}); SfM may fail to connect "
                        f"the images -- fly with 70-80 % overlap")
    return warnings


def _verdicts(quality: dict[str, Any]) -> set[str]:
    return {quality["horizontal"]["verdict"], quality["altitude"]["verdict"]}


def summary_line(report: dict[str, Any]) -> str:
    """One line: usable count, GPS coverage, cameras, GSD, overlap, extent."""
    parts = [f"{report['images_usable']}/{report['images_total']} images usable",
             f"GPS {report['gps']['coverage']:.0%}"]
    parts.append(" + ".join(report["cameras"]) or "no camera")
    if report["gsd_cm_per_px"]:
        parts.append(f"GSD {report['gsd_cm_per_px']['median']:.2f} cm/px")
    if report["forward_overlap"]:
        parts.append(f"overlap {report['forward_overlap']['median']:.0%}")
    if report["extent"]:
        ext = report["extent"]
        parts.append(f"extent {ext['east_west_m']:.0f} x {ext['north_south_m']:.0f} m")
    return ", ".join(parts)


def render_text(report: dict[str, Any]) -> str:
    """The human summary printed by `spaceport ingest`."""
    gps, alt = report["gps"], report["altitude"]
    lines = [f"Flight: {summary_line(report)}",
             f"  GPS of usable images: {gps['with_gps']} with a position, {gps['missing']} without, "
             f"{gps['invalid']} invalid"]
    for camera, count in report["cameras"].items():
        lines.append(f"  camera: {camera} ({count} images)")
    if alt["gps_m"]:
        lines.append(f"  altitude: GPS {alt['gps_m']['min']:.1f}-{alt['gps_m']['max']:.1f} m above sea level")
    if alt["relative_m"]:
        lines.append(f"  altitude: {alt['relative_m']['min']:.1f}-{alt['relative_m']['max']:.1f} m "
                     f"above take-off (DJI)")
    if gps["with_gps"]:
        lines.append(f"  {gps_quality.summary(report['gps_quality'])}")
    flagged = sum(bool(q["flags"]) for q in report["image_quality"].values())
    if report["image_quality"]:
        lines.append(f"  image quality: {flagged} of {len(report['image_quality'])} images "
                     f"flagged blurred or badly exposed")
    if report["extent"]:
        ext = report["extent"]
        lines.append(f"  extent: {ext['east_west_m']:.1f} m east-west x {ext['north_south_m']:.1f} m "
                     f"north-south, flight path {ext['path_length_m']:.0f} m")
    gsd = report["gsd_cm_per_px"]
    if gsd:
        lines.append(f"  ground sampling distance: {gsd['median']:.2f} cm/px "
                     f"({gsd['min']:.2f}-{gsd['max']:.2f})")
    overlap = report["forward_overlap"]
    if overlap:
        lines.append(f"  forward overlap: median {overlap['median']:.0%}, 10th percentile "
                     f"{overlap['p10']:.0%} over {overlap['pairs']} consecutive pairs"
                     + (" (heading assumed along the track)" if overlap["assumed_heading"] else ""))
    elif report["images_usable"]:
        lines.append("  forward overlap, GSD: unknown (needs GPS, DJI relative altitude and a focal length)")
    if report["other_files"]["count"]:
        lines.append(f"  ignored {report['other_files']['count']} non-image file(s), e.g. "
                     + ", ".join(report["other_files"]["examples"][:3]))
    lines += _listed("unusable images", [f"{u['file']}: {u['reason']}" for u in report["unusable"]])
    lines += _listed("warnings", report["warnings"])
    return "\n".join(lines)


def _listed(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    lines = [f"  {title} ({len(items)}):"] + [f"    {item}" for item in items[:LIST_LIMIT]]
    if len(items) > LIST_LIMIT:
        lines.append(f"    ... and {len(items) - LIST_LIMIT} more (see ingest/report.json)")
    return lines
