"""Read PlayCanvas SOG v2 (bundle or meta.json + WebP) back into Splats, in file order."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..formats.quantise import opacity_logit
from ..formats.splats import Splats
from . import sog_codec as codec
from .textures import decode_webp


def _opener(path: Path):
    """A function name -> bytes over the bundle or the folder holding meta.json."""
    if path.is_dir():
        path = path / "meta.json"
    if path.suffix.lower() == ".sog" or zipfile.is_zipfile(path):
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(f"{path} is not a readable SOG bundle: {exc}", path=path,
                             hint="re-export it; a .sog is a ZIP holding meta.json and WebP files") from exc
        return zf.read, "meta.json"
    return (lambda name: (path.parent / name).read_bytes()), path.name


def read_sog(path: Path) -> Splats:
    """Decode every attribute (SH through the palette) of a SOG v2 file."""
    path = Path(path)
    read, meta_name = _opener(path)
    try:
        meta = json.loads(read(meta_name))
        n = int(meta["count"])
        if meta.get("version") != 2:
            raise InputError(f"{path} is SOG version {meta.get('version')!r}; only version 2 is read",
                             hint="convert it with splat-transform first", path=path)

        def rows(name: str, need: int = n) -> np.ndarray:
            image = decode_webp(read(name))
            if image.shape[0] * image.shape[1] < need:
                raise InputError(f"{path}: {name} is {image.shape[1]}x{image.shape[0]}, too small "
                                 f"for {need} splats", hint="the file is corrupt; re-export it",
                                 path=path)
            return image.reshape(-1, 4)[:need]

        means = codec.decode_means(rows(meta["means"]["files"][0]), rows(meta["means"]["files"][1]),
                                   meta["means"]["mins"], meta["means"]["maxs"])
        quats = codec.decode_quats(rows(meta["quats"]["files"][0]))
        scale_book = np.asarray(meta["scales"]["codebook"], np.float32)
        scales = scale_book[rows(meta["scales"]["files"][0])[:, :3]]
        sh0_rows = rows(meta["sh0"]["files"][0])
        sh0 = np.asarray(meta["sh0"]["codebook"], np.float32)[sh0_rows[:, :3]]
        opacities = opacity_logit(sh0_rows[:, 3])
        shN = np.zeros((n, 0, 3), np.float32)
        if meta.get("shN"):
            bands, count = int(meta["shN"]["bands"]), int(meta["shN"]["count"])
            coeffs = codec.SH_COEFFS[bands]
            palette = codec.palette_from_image(decode_webp(read(meta["shN"]["files"][0])), coeffs,
                                               count)
            values = np.asarray(meta["shN"]["codebook"], np.float32)[palette]  # (K, 3C)
            labels_rows = rows(meta["shN"]["files"][1])
            labels = labels_rows[:, 0].astype(np.int64) | (labels_rows[:, 1].astype(np.int64) << 8)
            if labels.size and labels.max() >= count:
                raise InputError(f"{path}: SH label {labels.max()} beyond the palette of {count}",
                                 hint="the file is corrupt; re-export it", path=path)
            shN = values[labels].reshape(n, 3, coeffs).transpose(0, 2, 1)
    except (KeyError, ValueError, TypeError, OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path} is not a valid SOG v2 file: {type(exc).__name__}: {exc}",
                         hint="export the project as SOG again",
                         path=path) from exc
    return Splats(means, scales, quats, opacities, sh0, np.ascontiguousarray(shN, np.float32))

