"""Sharpness and exposure of each image, measured on a reduced copy: ingest/report.json's
`image_quality` (TEAM contract 3), which the SfM gate quotes when images fail to register.

JPEGs are decoded at reduced size by libjpeg itself (Pillow's `draft`: DCT scaling, several
times faster than a full decode), straight to greyscale.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from statistics import median
from typing import Any, Callable, Iterable

import numpy as np
from PIL import Image

REDUCED_LONG_SIDE = 1000  # pixels of the copy measured (motion blur of ~4 px still shows)
BLUR_RATIO = 0.3  # sharper than this share of the flight's median: not blurred
CLIPPED_SHARE = 0.05  # more pixels than this at the ends of the range: over/under-exposed
DARK_LEVEL, BRIGHT_LEVEL = 3, 252  # 8-bit grey levels counted as clipped
DARK_MEAN, BRIGHT_MEAN = 0.12, 0.85  # mean grey level (0..1) beyond which exposure is flagged
WORKERS = 4  # Pillow and numpy release the interpreter while decoding and filtering


def measure(path: Path) -> dict[str, float]:
    """Sharpness, mean grey level (0..1) and clipped shares of one image.

    Sharpness is the variance of the Laplacian over the variance of the grey levels: the share
    of the image's contrast in its finest detail, so a dark or flat-lit image is not taken
    for a blurred one."""
    with Image.open(path) as im:
        scale = REDUCED_LONG_SIDE / max(im.size)
        if scale < 1.0:
            wanted = (math.ceil(im.width * scale), math.ceil(im.height * scale))
            im.draft("L", wanted)  # a no-op for formats without reduced decoding (TIFF)
            factor = int(max(im.size) // REDUCED_LONG_SIDE)
            im = im.reduce(factor) if factor > 1 else im
        grey = np.asarray(im.convert("L"), dtype=np.float32)
    lap = 4.0 * grey[1:-1, 1:-1] - grey[:-2, 1:-1] - grey[2:, 1:-1] - grey[1:-1, :-2] - \
        grey[1:-1, 2:]
    return {"sharpness": float(lap.var() / max(float(grey.var()), 1e-6)),
            "exposure_mean": float(grey.mean() / 255.0),
            "clipped_dark": float(np.mean(grey <= DARK_LEVEL)),
            "clipped_bright": float(np.mean(grey >= BRIGHT_LEVEL))}


def measure_all(files: Iterable[tuple[str, Path]], on_done: Callable[[int], None] | None = None
                ) -> dict[str, dict[str, Any]]:
    """{name: measures + flags} for (name, path) pairs, measured in parallel; an image that
    cannot be decoded gets None measures and the flag "unreadable"."""
    files = list(files)
    out: dict[str, dict[str, Any]] = {}
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for i, (name, result) in enumerate(zip((n for n, _ in files),
                                               pool.map(_safe_measure, (p for _, p in files)))):
            out[name] = result
            if on_done:
                on_done(i + 1)
    flag(out)
    return out


def _safe_measure(path: Path) -> dict[str, Any]:
    try:
        return measure(path)
    except (OSError, ValueError, SyntaxError) as exc:  # pixel data broken past a good header
        return {"sharpness": None, "exposure_mean": None, "clipped_dark": None,
                "clipped_bright": None, "error": str(exc)}


def flag(measures: dict[str, dict[str, Any]]) -> None:
    """Add `flags` to each image: blurred (against the flight's median), over/under-exposed."""
    sharp = [m["sharpness"] for m in measures.values() if m["sharpness"] is not None]
    typical = median(sharp) if sharp else 0.0
    for m in measures.values():
        flags = []
        if m["sharpness"] is None:
            flags.append("unreadable")
        else:
            if len(sharp) >= 3 and m["sharpness"] < BLUR_RATIO * typical:
                flags.append("blurred")
            if m["clipped_bright"] > CLIPPED_SHARE or m["exposure_mean"] > BRIGHT_MEAN:
                flags.append("overexposed")
            if m["clipped_dark"] > CLIPPED_SHARE or m["exposure_mean"] < DARK_MEAN:
                flags.append("underexposed")
        m["flags"] = flags


def summary(measures: dict[str, dict[str, Any]]) -> list[str]:
    """Warning lines naming the flagged images, one per flag."""
    lines = []
    for name in ("blurred", "overexposed", "underexposed", "unreadable"):
        files = sorted(f for f, m in measures.items() if name in m["flags"])
        if files:
            shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
            lines.append(f"{len(files)} image(s) look {name}: {shown}")
    return lines
