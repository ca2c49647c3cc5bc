"""IngestStage: read a flight folder's image headers, validate them, write flight.json and the report."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .. import atomic
from ..errors import InputError
from ..project import Project
from ..stage import Stage, StageContext
from .exif import read_image
from .gps_quality import capture_order
from .image_quality import measure_all
from .report import build_report, summary_line
from .scan import FlightListing, scan_flight
from .validate import (apply_camera_policy, apply_exclusions, apply_gps_policy,
                       mark_duplicates, skip)

SCHEMA_VERSION = 1
PROGRESS_EVERY = 25  # images between Progress events
WARN_LIMIT = 10  # unusable images named one by one in Log warnings
RECONNECT = ("reconnect the drive that holds it (or put the folder back at that path), or choose "
             "the flight folder again where it now is")


class IngestStage(Stage):
    """Flight folder -> ingest/flight.json (per-image metadata) and ingest/report.json."""

    name = "ingest"
    upstream = ()

    def fingerprint_inputs(self, project: Project) -> dict[str, Any]:
        """The flight folder's path and listing (names, sizes, times): a changed folder reruns
        ingest. A folder that is gone (its drive unplugged) keeps the listing of ingest's last
        run, so what was made from it stays current; only running ingest or SfM needs it."""
        source = project.source
        if source is not None and source.is_dir():
            return {"source": str(source), "listing": scan_flight(source).fingerprint()}
        last = project.record(self.name).basis.get("inputs") or {}
        return {"source": str(source),
                "listing": last.get("listing") if last.get("source") == str(source) else None}

    def input_warning(self, project: Project) -> str:
        """Says so when a finished ingest's flight folder is missing: ingest and SfM cannot
        run again."""
        source = project.source
        if source is None or source.is_dir() or project.record(self.name).state != "done":
            return ""
        return (f"the flight folder {source} is missing (is its drive disconnected?): ingest and "
                f"SfM cannot run again until it is back; their results are kept and the stages "
                f"after them can run. To run them again, {RECONNECT}")

    def run(self, ctx: StageContext) -> dict[str, Any]:
        """Read every image header, apply the flight-level checks, write flight.json and report.json."""
        source = ctx.project.source
        if source is None or not source.is_dir():
            raise missing_flight_folder(source)
        ctx.project.paths.ingest_report.unlink(missing_ok=True)  # a report always describes the last run
        listing = _listing(source)
        entries = []
        for i, f in enumerate(listing.images):
            ctx.cancel.check()
            entries.append(read_image(f.path, f.rel, f.size))
            if i % PROGRESS_EVERY == 0:
                ctx.progress(i / len(listing.images), f"reading image headers {i}/{len(listing.images)}")
        ctx.progress(1.0, f"read {len(entries)} image headers")
        settings = ctx.settings
        for name in apply_exclusions(entries, settings.exclude):
            ctx.log(f"ingest.exclude names {name}, which is not an image of this flight", "warning")
        apply_gps_policy(entries, settings.require_gps)
        duplicates = mark_duplicates(entries, listing.images)
        cameras = apply_camera_policy(entries, settings.mixed_cameras)
        quality = _measure_images(ctx, source, entries)
        report = _clean(build_report(capture_order(entries), listing, cameras, duplicates,
                                     quality))
        paths = ctx.project.paths
        atomic.write_json(paths.ingest_report, report)
        _log_problems(ctx, report)
        if report["images_usable"] < settings.min_images:
            raise InputError(_too_few(report, settings.min_images, source),
                             hint="fix or replace the files listed (each reason says how; see "
                                  "ingest/report.json)" + (", or lower ingest.min_images"
                                                           if report["images_usable"] else ""),
                             path=source)
        _write_json_streamed(paths.flight_json, {
            "schema_version": SCHEMA_VERSION, "source": str(source), "images": entries,
            "report": report})
        return {
            "flight_json": paths.flight_json.relative_to(paths.root).as_posix(),
            "report_json": paths.ingest_report.relative_to(paths.root).as_posix(),
            "images": report["images_total"], "usable": report["images_usable"],
            "unusable": len(report["unusable"]), "gps_coverage": report["gps"]["coverage"],
            "duplicates": sum(len(g) - 1 for g in report["duplicates"]),
            "mixed_cameras": report["mixed_cameras"],
            "gsd_cm_per_px": (report["gsd_cm_per_px"] or {}).get("median"),
            "forward_overlap": (report["forward_overlap"] or {}).get("median"),
            "summary": summary_line(report),
        }

    def summary(self, outputs: dict[str, Any]) -> str:
        """The report's one-line summary."""
        return outputs.get("summary") or super().summary(outputs)


def _measure_images(ctx: StageContext, source: Path, entries: list[dict[str, Any]]
                    ) -> dict[str, dict[str, Any]]:
    """Sharpness and exposure of the usable images; those whose pixels cannot be decoded
    become unusable."""
    usable = [e for e in entries if e["usable"]]

    def done(n: int) -> None:
        ctx.cancel.check()
        if n % PROGRESS_EVERY == 0 or n == len(usable):
            ctx.progress(n / len(usable), f"measuring sharpness and exposure: {n}/{len(usable)} "
                                          f"images")

    quality = measure_all(((e["file"], source / e["file"]) for e in usable), done)
    for e in usable:
        error = quality[e["file"]].get("error")
        if error:
            skip(e, f"its pixel data cannot be decoded ({error}) -- copy it again from the "
                    f"drone's memory card")
            del quality[e["file"]]
    return quality


def _listing(source: Path) -> FlightListing:
    listing = scan_flight(source)
    if not listing.images and not listing.others:
        raise InputError(f"The flight folder {source} is empty",
                         hint="copy the drone's JPEG or TIFF images into it, or pass the folder "
                              "that holds them", path=source)
    if not listing.images:
        examples = ", ".join(f.rel for f in listing.others[:5])
        raise InputError(f"No images in the flight folder {source}: its {len(listing.others)} "
                         f"file(s) ({examples}) are not .jpg, .jpeg, .tif or .tiff",
                         hint="pass the folder that holds the drone's JPEG or TIFF images",
                         path=source)
    return listing


def _log_problems(ctx: StageContext, report: dict[str, Any]) -> None:
    for item in report["unusable"][:WARN_LIMIT]:
        ctx.log(f"skipped {item['file']}: {item['reason']}", level="warning")
    if len(report["unusable"]) > WARN_LIMIT:
        ctx.log(f"... and {len(report['unusable']) - WARN_LIMIT} more unusable images "
                f"(see ingest/report.json)", level="warning")
    for text in report["warnings"]:
        ctx.log(text, level="warning")


def missing_flight_folder(source: Path | None) -> InputError:
    """The error of a stage that needs the flight's images when their folder is gone."""
    return InputError(f"Flight folder {source} does not exist or is not a folder",
                      hint=RECONNECT, path=source)


def _too_few(report: dict[str, Any], minimum: int, source: Path) -> str:
    usable, total = report["images_usable"], report["images_total"]
    lines = [f"Only {usable} of {total} images in {source} are usable; at least {minimum} are "
             f"needed. Unusable:" if usable else f"None of the {total} images in {source} is "
             f"usable. Unusable:"]
    lines += [f"  {u['file']}: {u['reason']}" for u in report["unusable"][:20]]
    if len(report["unusable"]) > 20:
        lines.append(f"  ... and {len(report['unusable']) - 20} more (see ingest/report.json)")
    return "\n".join(lines)


def _write_json_streamed(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically, encoding it chunk by chunk (no whole-file string for long flights)."""
    with atomic.atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, allow_nan=False)
        f.write("\n")


def _clean(value: Any) -> Any:
    """The value with non-finite floats replaced by None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
