"""A quick look at a flight folder before a project is made of it: does it hold usable images?

Qt-free; the New project dialog runs it in the background pool. It lists the folder as ingest
does and reads the headers of up to `HEADERS_CHECKED` images spread over the flight, so a folder
with no images, or only unreadable ones, is refused at once with the reason; ingest still
checks every image when the pipeline runs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from app.pipeline.errors import ProjectError
from app.pipeline.ingest.exif import read_image
from app.pipeline.ingest.scan import IMAGE_SUFFIXES, scan_flight
from app.pipeline.ingest.validate import camera_key
from app.pipeline.project import check_flight_folder_is_not_a_project, project_containing

HEADERS_CHECKED = 40


@dataclass(frozen=True)
class FlightCheck:
    """What the quick look found; `problem` is why the folder cannot be used ('' if it can)."""

    folder: Path
    images: int = 0  # image files in the folder
    checked: int = 0  # headers read
    usable: int = 0  # of those, usable
    with_gps: int = 0
    cameras: dict[str, int] = field(default_factory=dict)
    problem: str = ""
    project: Path | None = None  # the Spaceport project the folder is (or is inside)

    @property
    def ok(self) -> bool:
        """True when a project can be made of this folder."""
        return not self.problem

    def text(self) -> str:
        """One line for the dialog."""
        if self.problem:
            return self.problem
        checked = "" if self.checked == self.images else f" (headers of {self.checked} checked)"
        cams = ", ".join(self.cameras)
        return (f"{self.images} images{checked}: {self.usable} of {self.checked} usable, "
                f"{self.with_gps} with GPS; {cams}")


def check_flight_folder(folder: Path, limit: int = HEADERS_CHECKED,
                        cancelled: Callable[[], bool] = lambda: False) -> FlightCheck:
    """List `folder` and read a spread of image headers; say why it cannot be used, if so."""
    if not folder.is_dir():
        return FlightCheck(folder, problem=f"{folder} does not exist or is not a folder")
    try:
        check_flight_folder_is_not_a_project(folder)
    except ProjectError as exc:
        return FlightCheck(folder, problem=f"{exc.message}. Open it as a project to see or "
                                           "resume it, or choose the folder that holds the "
                                           "drone's photos.", project=project_containing(folder))
    listing = scan_flight(folder)
    if not listing.images:
        kinds = ", ".join(sorted(IMAGE_SUFFIXES))
        found = (f"its {len(listing.others)} file(s) (e.g. {', '.join(f.rel for f in listing.others[:3])})"
                 f" are not images" if listing.others else "it is empty")
        return FlightCheck(folder, problem=f"No images in {folder.name}: {found}. A flight folder "
                                           f"holds the drone's photos ({kinds}).")
    step = max(1, len(listing.images) // limit)
    entries = []
    for f in listing.images[::step][:limit]:
        if cancelled():
            break
        entries.append(read_image(f.path, f.rel, f.size))
    usable = [e for e in entries if e["usable"]]
    check = FlightCheck(folder, images=len(listing.images), checked=len(entries),
                        usable=len(usable), with_gps=sum(e["gps"] is not None for e in usable),
                        cameras=dict(Counter(camera_key(e) for e in usable)))
    if entries and not usable:
        reasons = Counter(e["reason"] for e in entries).most_common(2)
        said = "; ".join(f"{n} x {reason}" for reason, n in reasons)
        return FlightCheck(folder, images=check.images, checked=check.checked,
                           problem=f"None of the {len(entries)} images checked in {folder.name} "
                                   f"can be used: {said}")
    return check
