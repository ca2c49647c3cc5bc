"""Read any splat model file: 3DGS PLY, PlayCanvas compressed PLY, .splat, .spz, SOG (bundle,
meta.json or its folder), placed in the project's frame by its `.georef.json` sidecar."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import InputError
from .georef import ModelFrame, read_frame
from .compressed_ply import read_compressed_ply
from .ply import load_ply, parse_elements
from .splat import read_splat
from .splats import Splats
from .spz import read_spz

ProgressFn = Callable[[float, str], None]
MODEL_SUFFIXES = (".ply", ".splat", ".spz", ".sog", ".json")  # what a file dialog offers
FORMAT_NAMES = {"ply": "3DGS PLY", "compressed-ply": "PlayCanvas compressed PLY",
                "splat": ".splat", "spz": ".spz", "sog": "PlayCanvas SOG"}


@dataclass
class LoadedModel:
    """A read model: splats in the frame its sidecar names, and what happened on the way."""

    splats: Splats
    path: Path
    format: str  # a key of FORMAT_NAMES
    frame: ModelFrame
    dropped_nonfinite: int = 0
    seconds: float = 0.0

    def describe(self) -> str:
        """One line: count, format, file, dropped splats."""
        text = f"{len(self.splats):,} splats ({FORMAT_NAMES[self.format]}, {self.path.name})"
        if self.dropped_nonfinite:
            text += f", {self.dropped_nonfinite:,} with NaN/inf values dropped"
        return text


def model_format(path: Path) -> str:
    """The format of a model file or SOG folder, from its name and first bytes."""
    path = Path(path)
    if path.is_dir():
        if (path / "meta.json").is_file():
            return "sog"
        raise InputError(f"{path} is a folder without meta.json", path=path,
                         hint="open a model file, or the folder of an unbundled SOG export")
    if not path.is_file():
        raise InputError(f"{path} does not exist", path=path, hint="choose an existing model file")
    name = path.name.lower()
    if name.endswith(".sog") or name == "meta.json":
        return "sog"
    if name.endswith(".splat"):
        return "splat"
    if name.endswith(".spz"):
        return "spz"
    if name.endswith(".ply"):
        _, elements, _ = parse_elements(path)
        return "compressed-ply" if elements[0][0] == "chunk" else "ply"
    raise InputError(f"{path.name} is not a splat model this app reads", path=path,
                     hint="open a .ply (3DGS or PlayCanvas compressed), .splat, .spz, .sog "
                          "or SOG meta.json")


def load_model(path: Path, progress: ProgressFn | None = None) -> LoadedModel:
    """Read a model; positions are moved by its `.georef.json` offset into the project's frame."""
    path = Path(path)
    progress = progress or (lambda f, m: None)
    t0 = time.perf_counter()
    fmt = model_format(path)
    frame = read_frame(path)
    progress(0.0, f"reading {path.name}")
    if fmt == "ply":
        loaded = load_ply(path, progress=lambda f, m: progress(0.95 * f, m))
        splats, dropped = loaded.splats, loaded.dropped_nonfinite
    else:
        splats = _READERS[fmt](path)
        good = splats.finite_mask()
        dropped = int((~good).sum())
        if dropped:
            splats = splats.subset(good)
    if frame.offset_m.any():
        splats = Splats((splats.means + frame.offset_m).astype(np.float32), splats.scales,
                        splats.quats, splats.opacities, splats.sh0, splats.shN)
    progress(1.0, f"read {len(splats):,} splats from {path.name}")
    return LoadedModel(splats, path, fmt, frame, dropped, time.perf_counter() - t0)


def read_model(path: Path, progress: ProgressFn | None = None) -> Splats:
    """The splats of any model file, in the project's frame when it has a `.georef.json`."""
    return load_model(path, progress).splats


def _read_sog(path: Path) -> Splats:
    from ..compress.sog_read import read_sog  # the project's SOG decoder; compress imports formats

    return read_sog(path)


_READERS: dict[str, Callable[[Path], Splats]] = {
    "sog": _read_sog, "compressed-ply": read_compressed_ply, "splat": read_splat,
    "spz": read_spz}
