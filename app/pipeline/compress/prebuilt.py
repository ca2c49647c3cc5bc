"""A compression made elsewhere (chained after cloud training), left for the compress stage.

The cloud training step writes compress/prebuilt.json beside the files it brought home: which
training it compressed, with which settings, each file's SHA-256 and compress_ply's report. The
compress stage takes those files instead of compressing again while all of that still holds.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import atomic
from ..hashing import sha256_file
from ..settings import result_fingerprint
from .settings import CompressSettings

PREBUILT = "prebuilt.json"


@dataclass
class Prebuilt:
    """What a compression made elsewhere left in the compress folder."""

    made_from: str  # the training it compressed (the cloud training job's name)
    settings: str  # result fingerprint of the compress settings it used
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    report: dict[str, Any] = field(default_factory=dict)  # compress_ply's report, output made local


def write_prebuilt(folder: Path, made_from: str, settings: CompressSettings, files: list[str],
                   report: dict[str, Any]) -> Prebuilt:
    """Record files just placed in `folder` (relative names) as the compression of `made_from`."""
    prebuilt = Prebuilt(made_from, result_fingerprint(settings),
                        {rel: sha256_file(folder / rel) for rel in files}, report)
    atomic.write_json(folder / PREBUILT, asdict(prebuilt))
    return prebuilt


def usable_prebuilt(folder: Path, made_from: str | None, settings: CompressSettings) -> Prebuilt | None:
    """The prebuilt compression of `made_from` with these settings, its files unchanged; else None."""
    path = folder / PREBUILT
    if not made_from or not path.is_file():
        return None
    try:
        prebuilt = Prebuilt(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    if prebuilt.made_from != made_from or prebuilt.settings != result_fingerprint(settings):
        return None
    if prebuilt.report.get("output") not in prebuilt.files:  # e.g. an image writing absolute paths
        return None
    if any(not (folder / rel).is_file() or sha256_file(folder / rel) != sha
           for rel, sha in prebuilt.files.items()):
        return None
    return prebuilt
