"""The files of a flight folder: images to read, other files to report, and a listing fingerprint."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".tif", ".tiff", ".dng"}


@dataclass(frozen=True)
class FlightFile:
    """One file of the flight folder, named relative to it (posix)."""

    rel: str
    path: Path
    size: int
    mtime_ns: int
    inode: tuple[int, int]  # (device, inode): hard links to one file share it


@dataclass
class FlightListing:
    """What a flight folder holds: candidate images and everything else (hidden files skipped)."""

    images: list[FlightFile] = field(default_factory=list)
    others: list[FlightFile] = field(default_factory=list)

    def fingerprint(self) -> str:
        """Hash of every file's name, size and modification time."""
        digest = hashlib.sha256()
        for f in sorted(self.images + self.others, key=lambda f: f.rel):
            digest.update(f"{f.rel}\0{f.size}\0{f.mtime_ns}\n".encode("utf-8", "surrogateescape"))
        return digest.hexdigest()[:16]


def scan_flight(source: Path) -> FlightListing:
    """List the flight folder recursively in name order; hidden files and folders are skipped."""
    listing = FlightListing()
    for folder, dirs, names in os.walk(source):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue  # .DS_Store, macOS ._ resource forks, partial downloads
            path = Path(folder) / name
            try:
                st = path.stat()
            except OSError:
                continue  # vanished or a dangling link
            rel = path.relative_to(source).as_posix()
            item = FlightFile(rel, path, st.st_size, st.st_mtime_ns, (st.st_dev, st.st_ino))
            (listing.images if path.suffix.lower() in IMAGE_SUFFIXES else listing.others).append(item)
    listing.images.sort(key=lambda f: f.rel)
    listing.others.sort(key=lambda f: f.rel)
    return listing
