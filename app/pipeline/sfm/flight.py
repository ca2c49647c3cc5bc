"""The SfM stage's view of ingest/flight.json: the usable images with GPS, focal and DJI tags."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..ingest.gps_quality import assess_gps, capture_order

EXCLUDED_REASON = "excluded by the operator"  # ingest's reason for an image in ingest.exclude


@dataclass(frozen=True)
class FlightImage:
    """One usable image as ingest described it."""

    file: str  # relative to the flight folder, posix
    width: int
    height: int
    focal_length_px: float | None = None
    focal_length_35mm: float | None = None
    timestamp: str | None = None
    gps: tuple[float, float, float] | None = None  # lat, lon, alt (nan when not recorded)
    dji: dict[str, float] = field(default_factory=dict)
    make: str | None = None
    model: str | None = None

    @property
    def focal_prior_px(self) -> float | None:
        """Focal length in pixels from ingest's estimate, else from the 35 mm equivalent."""
        if self.focal_length_px:
            return float(self.focal_length_px)
        if self.focal_length_35mm:
            # 35 mm film is 36 mm wide; the equivalent focal maps onto the image's long side
            return float(self.focal_length_35mm) / 36.0 * max(self.width, self.height)
        return None


@dataclass(frozen=True)
class Flight:
    """The usable images of a flight and the folder they live in."""

    source: Path
    images: tuple[FlightImage, ...]
    excluded: tuple[str, ...] = ()  # images the operator excluded (ingest.exclude)
    gps_quality: dict[str, Any] = field(default_factory=dict)  # ingest's assessment
    capture_order: tuple[str, ...] = ()  # usable image names in the order they were taken

    @property
    def names(self) -> list[str]:
        """Image names (relative posix paths), in flight order."""
        return [im.file for im in self.images]

    def by_name(self) -> dict[str, FlightImage]:
        """Images keyed by name."""
        return {im.file: im for im in self.images}

    @property
    def with_gps(self) -> list[FlightImage]:
        """The images that carry a GPS position."""
        return [im for im in self.images if im.gps is not None]


def load_flight(path: Path, source: Path | None = None) -> Flight:
    """Read flight.json and keep the usable images; InputError when it is missing or broken."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        src = Path(source or data["source"])
        images = tuple(_image(entry) for entry in data["images"] if entry.get("usable", True))
        excluded = tuple(str(e["file"]) for e in data["images"] if not e.get("usable", True)
                         and str(e.get("reason") or "").startswith(EXCLUDED_REASON))
        usable = capture_order([e for e in data["images"] if e.get("usable", True)])
        quality = (data.get("report") or {}).get("gps_quality") or assess_gps(usable)
    except FileNotFoundError:
        raise InputError(f"No ingest result at {path}", hint="run the ingest stage first",
                         path=path, action="rerun") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"flight.json is unreadable: {exc}",
                         hint="run the ingest stage again", action="rerun",
                         path=path) from exc
    if not images:
        raise InputError("flight.json lists no usable image", hint="check the ingest report "
                         "(ingest/report.json) for why every image was rejected", path=path)
    return Flight(source=src, images=images, excluded=excluded, gps_quality=quality,
                  capture_order=tuple(str(e["file"]) for e in usable))


def _image(entry: dict[str, Any]) -> FlightImage:
    gps = entry.get("gps")
    return FlightImage(
        file=str(entry["file"]), width=int(entry["width"]), height=int(entry["height"]),
        focal_length_px=entry.get("focal_length_px"),
        focal_length_35mm=entry.get("focal_length_35mm"),
        timestamp=entry.get("timestamp"),
        gps=(float(gps["lat"]), float(gps["lon"]),
             float("nan") if gps.get("alt") is None else float(gps["alt"])) if gps else None,
        dji={k: float(v) for k, v in (entry.get("dji") or {}).items() if v is not None},
        make=entry.get("make"), model=entry.get("model"))
