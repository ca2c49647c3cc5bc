"""The `.georef.json` sidecar beside an exported model: where its positions sit in the project's
ENU frame (exports such as SOG are centred; the offset back is only in this file)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError


def sidecar(out: Path, kind: str) -> Path:
    """Where `kind` (quality, georef) is written beside an export: `<file>.<kind>.json`, or
    `<kind>.json` inside the folder of an unbundled SOG."""
    out = Path(out)
    if out.name == "meta.json":
        return out.parent / f"{kind}.json"
    if out.is_dir() or not out.suffix:
        return out / f"{kind}.json"
    return out.parent / f"{out.name}.{kind}.json"


@dataclass
class ModelFrame:
    """How a model file's positions relate to the project's frame.

    `offset_m` is added to the file's positions to reach the frame the sidecar names (the
    project's ENU frame, or its SfM frame when that was not georeferenced); `origin` is the ENU
    origin (WGS84 lat/lon/alt) when there is one. Without a sidecar the model is in its own frame.
    """

    offset_m: np.ndarray = field(default_factory=lambda: np.zeros(3))
    origin: dict[str, Any] | None = None
    sidecar: Path | None = None

    @property
    def has_sidecar(self) -> bool:
        """True when a `.georef.json` placed the model in a project's frame."""
        return self.sidecar is not None

    def describe(self) -> str:
        """One line for a status bar."""
        if self.sidecar is None:
            return "no .georef.json: shown in the file's own frame"
        shift = ", ".join(f"{v:+.2f}" for v in self.offset_m)
        where = "ENU frame" if self.origin else "SfM frame (not georeferenced)"
        return f"placed in the project's {where} by {self.sidecar.name} (offset {shift} m)"


def read_frame(model: Path) -> ModelFrame:
    """The frame of a model file from its `.georef.json` (the file's own frame when absent)."""
    path = sidecar(Path(model), "georef")
    if not path.is_file():
        return ModelFrame()
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        offset = np.asarray(doc.get("offset_m") or [0.0, 0.0, 0.0], dtype=np.float64)
        if offset.shape != (3,) or not np.isfinite(offset).all():
            raise ValueError(f"offset_m must be three finite numbers, not {doc.get('offset_m')!r}")
    except (OSError, ValueError, AttributeError) as exc:
        raise InputError(f"{path} is not a readable georeference sidecar: {exc}", path=path,
                         hint="delete it to view the model in its own frame, or export again"
                         ) from exc
    return ModelFrame(offset, doc.get("origin"), path)
