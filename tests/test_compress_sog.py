"""SOG v2: codebooks, ordering, palette and the writer/reader round trip."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from app.pipeline.compress.codebook import fit_codebook
from app.pipeline.compress.order import morton_order
from app.pipeline.compress.palette import palette_size
from app.pipeline.compress.settings import CompressSettings
from app.pipeline.compress.sog_read import read_sog
from app.pipeline.compress.sog_write import encode_sog, write_sog
from app.pipeline.compress.textures import decode_webp, texture_size
from app.pipeline.errors import Cancelled, InputError
from app.pipeline.stage import CancelToken
from splat_scenes import drone_scene


def lloyd(values: np.ndarray, k: int = 256, iterations: int = 10) -> np.ndarray:
    centroids = np.quantile(values, np.linspace(0, 1, k))
    for _ in range(iterations):
        labels = np.argmin(np.abs(values[:, None] - centroids[None]), axis=1)
        for j in range(k):
            if np.any(labels == j):
                centroids[j] = values[labels == j].mean()
    return centroids


def test_codebook_is_256_sorted_values_and_keeps_sparse_tails_accurate():
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(-4, 0.3, 5000), rng.uniform(0, 3, 20)]).astype(np.float32)
    centroids, labels = fit_codebook(values)
    assert centroids.shape == (256,) and np.all(np.diff(centroids) >= 0)
    dp_worst = np.abs(centroids[labels] - values).max()
    plain = lloyd(values.astype(np.float64))
    lloyd_worst = np.abs(plain[np.argmin(np.abs(values[:, None] - plain[None]), axis=1)] - values).max()
    assert dp_worst < 0.1
    assert dp_worst < lloyd_worst / 2


def test_codebook_of_constant_values_is_exact():
    centroids, labels = fit_codebook(np.full((10, 3), 2.5, np.float32))
    assert np.all(centroids[labels] == 2.5)


def test_morton_order_keeps_neighbours_together():
    means = np.random.default_rng(0).uniform(-100, 100, (5000, 3))
    order = morton_order(means)
    assert sorted(order) == list(range(5000))
    step = np.linalg.norm(np.diff(means[order], axis=0), axis=1).mean()
    assert step < np.linalg.norm(np.diff(means, axis=0), axis=1).mean() / 5


def test_texture_width_is_a_multiple_of_four_holding_every_splat():
    for n in (1, 5, 1000, 12345):
        w, h = texture_size(n)
        assert w % 4 == 0 and h % 4 == 0 and w * h >= n


def test_palette_size_follows_the_setting_or_scales_with_the_count():
    assert palette_size(100_000, 512) == 512
    assert palette_size(100, 512) == 100
    assert 16 <= palette_size(1000, None) <= palette_size(1_000_000, None) <= 4096
    with pytest.raises(InputError):
        palette_size(1000, 0)


@pytest.mark.parametrize("bundle", [True, False])
def test_sog_round_trip_is_within_the_format_precision(tmp_path, bundle):
    splats = drone_scene(6000, extent=40, sh_degree=3)
    out = tmp_path / ("s.sog" if bundle else "s/meta.json")
    encoded = write_sog(splats, out)
    back = read_sog(out)
    ref = splats.subset(encoded.order)
    assert len(back) == len(splats) and back.sh_degree == 3
    assert np.linalg.norm(back.means - ref.means, axis=1).mean() < 0.002  # 2 mm at 20 m
    assert np.abs(back.scales - ref.scales).max() < 0.1
    assert np.abs(back.alpha() - ref.alpha()).max() <= 0.5 / 255 + 1e-6
    assert np.abs(back.rgb() - ref.rgb()).mean() < 0.01
    assert np.abs(back.shN - ref.shN).mean() < 0.02


def test_bundle_is_a_stored_zip_with_meta_json_and_valid_codebooks(tmp_path):
    write_sog(drone_scene(3000, sh_degree=1), tmp_path / "s.sog")
    with zipfile.ZipFile(tmp_path / "s.sog") as zf:
        assert all(info.compress_type == zipfile.ZIP_STORED for info in zf.infolist())
        meta = json.loads(zf.read("meta.json"))
        means_l = decode_webp(zf.read("means_l.webp"))
    assert meta["version"] == 2 and meta["count"] == 3000
    assert meta["shN"]["bands"] == 1 and set(zf.namelist()) >= {"shN_labels.webp", "sh0.webp"}
    for key in ("scales", "sh0", "shN"):
        book = meta[key]["codebook"]
        assert len(book) == 256 and book == sorted(book) and np.all(np.isfinite(book))
    assert means_l.shape[:2] == texture_size(3000)[::-1]


def test_transparent_splats_keep_their_colour(tmp_path):
    splats = drone_scene(500, sh_degree=0)
    splats.opacities[:] = -20  # alpha byte 0: a plain lossless WebP would drop their RGB
    encoded = write_sog(splats, tmp_path / "s.sog")
    back = read_sog(tmp_path / "s.sog")
    ref = splats.subset(encoded.order)
    assert np.abs(back.sh0 - ref.sh0).max() < 0.05


def test_palette_size_setting_is_written(tmp_path):
    encoded = encode_sog(drone_scene(4000, sh_degree=2), CompressSettings(sh_palette_size=64))
    assert encoded.meta["shN"]["count"] == 64 and encoded.meta["shN"]["bands"] == 2


def test_sh_degree_setting_drops_higher_bands():
    encoded = encode_sog(drone_scene(1000, sh_degree=3), CompressSettings(sh_degree=0))
    assert "shN" not in encoded.meta


def test_cancel_stops_encoding():
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        encode_sog(drone_scene(1000), cancel=token)


def test_corrupt_bundle_is_refused_with_the_file_named(tmp_path):
    (tmp_path / "bad.sog").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError, match="bad.sog"):
        read_sog(tmp_path / "bad.sog")
