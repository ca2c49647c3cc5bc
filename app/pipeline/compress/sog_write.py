"""Write PlayCanvas SOG v2: a `.sog` bundle (ZIP, stored) or an unbundled meta.json + WebP folder."""

from __future__ import annotations

import io
import json
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .. import atomic
from ..formats.quantise import opacity_byte
from ..formats.splats import Splats
from ..cancel import CancelToken
from . import sog_codec as codec
from .codebook import fit_codebook
from .order import morton_order
from .palette import fit_palette, palette_size
from .settings import CompressSettings
from .textures import encode_webp, layout, texture_size

GENERATOR = "spaceport"
ProgressFn = Callable[[float, str], None]


@dataclass
class EncodedSog:
    """meta.json content, the WebP files by name, and the splat order used (file row -> input)."""

    meta: dict
    files: dict[str, bytes]
    order: np.ndarray


def encode_sog(splats: Splats, settings: CompressSettings | None = None,
               progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> EncodedSog:
    """Encode splats as SOG v2 textures (Morton order, DP codebooks, SH palette)."""
    settings = settings or CompressSettings()
    progress = progress or (lambda f, m: None)
    check = cancel.check if cancel else (lambda: None)
    n = len(splats)
    order = morton_order(splats.means)
    s = splats.subset(order)
    width, height = texture_size(n)
    files: dict[str, bytes] = {}
    pool = ThreadPoolExecutor(max_workers=2)  # WebP encodes overlap with numpy work
    pending = {}

    def texture(name: str, rows: np.ndarray, w: int = width, h: int = height) -> None:
        image = rows if rows.ndim == 3 else layout(rows, w, h)
        pending[name] = pool.submit(encode_webp, image, settings.webp_method, settings.webp_quality)

    try:
        progress(0.02, "positions")
        low, high, mins, maxs = codec.encode_means(s.means)
        texture("means_l.webp", low)
        texture("means_u.webp", high)
        texture("quats.webp", codec.encode_quats(s.quats))
        check()
        progress(0.1, "scale codebook")
        scale_book, scale_idx = fit_codebook(s.scales)
        texture("scales.webp", codec.index_rows(scale_idx))
        check()
        progress(0.2, "colour codebook")
        colour_book, colour_idx = fit_codebook(s.sh0)
        texture("sh0.webp", codec.index_rows(colour_idx, opacity_byte(s.opacities)))
        check()
        meta = {"version": 2, "asset": {"generator": GENERATOR}, "count": n,
                "means": {"mins": mins, "maxs": maxs, "files": ["means_l.webp", "means_u.webp"]},
                "scales": {"codebook": scale_book.tolist(), "files": ["scales.webp"]},
                "quats": {"files": ["quats.webp"]},
                "sh0": {"codebook": colour_book.tolist(), "files": ["sh0.webp"]}}
        degree = min(s.sh_degree, settings.sh_degree)
        if degree > 0:
            coeffs = codec.SH_COEFFS[degree]
            vectors = s.shN[:, :coeffs].transpose(0, 2, 1).reshape(n, 3 * coeffs)
            k = palette_size(n, settings.sh_palette_size)
            progress(0.3, f"SH palette ({k} entries, {settings.sh_iterations} iterations)")
            centroids, labels = fit_palette(vectors, k, settings.sh_iterations,
                                            settings.sh_train_per_centroid)
            check()
            progress(0.75, "SH codebook")
            sh_book, sh_idx = fit_codebook(centroids)
            texture("shN_centroids.webp", codec.palette_image(sh_idx, coeffs))
            texture("shN_labels.webp", codec.label_rows(labels))
            meta["shN"] = {"count": int(len(centroids)), "bands": degree,
                           "codebook": sh_book.tolist(),
                           "files": ["shN_centroids.webp", "shN_labels.webp"]}
        progress(0.85, "lossless WebP")
        for name, future in pending.items():
            files[name] = future.result()
            check()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return EncodedSog(meta=meta, files=files, order=order)


def meta_json(meta: dict) -> bytes:
    """meta.json bytes (NaN/inf refused: the engine's JSON parser would reject them)."""
    return json.dumps(meta, allow_nan=False, separators=(",", ":")).encode("utf-8")


def save_sog(encoded: EncodedSog, out: Path) -> list[Path]:
    """Write a bundle (`*.sog`) or an unbundled folder (`.../meta.json` or a folder); atomic."""
    out = Path(out)
    if out.suffix.lower() == ".sog":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr("meta.json", meta_json(encoded.meta))
            for name, data in encoded.files.items():
                zf.writestr(name, data)
        atomic.write_bytes(out, buf.getvalue())
        return [out]
    meta_path = out if out.name == "meta.json" else out / "meta.json"
    written = []
    for name, data in encoded.files.items():  # textures first, meta.json last: a reader never
        atomic.write_bytes(meta_path.parent / name, data)  # sees a meta without its files
        written.append(meta_path.parent / name)
    atomic.write_bytes(meta_path, meta_json(encoded.meta))
    return written + [meta_path]


def write_sog(splats: Splats, out: Path, settings: CompressSettings | None = None,
              progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> EncodedSog:
    """Encode and save; returns the encoding (meta, files, order)."""
    encoded = encode_sog(splats, settings, progress, cancel)
    save_sog(encoded, out)
    return encoded
