"""`read_model`: every splat format the app exports comes back in the project's frame (the
`.georef.json` offset applied), renders the same image within its codec's error, and bad
files are refused with the file named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.pipeline.errors import InputError
from app.pipeline.export import ExportOptions, export_splats
from app.pipeline.formats.model import load_model, model_format, read_model
from app.pipeline.formats.ply import write_ply
from app.pipeline.formats.splats import Splats
from tests.viewer_gl import camera, needs_gl, psnr, random_scene, render

OFFSET = np.array([120.0, -45.0, 18.0], np.float32)  # away from the origin, as an ENU scene is
FORMATS = {"ply": "scene.ply", "sog": "scene.sog", "splat": "scene.splat", "spz": "scene.spz",
           "compressed-ply": "scene.compressed.ply"}
POSITION_TOLERANCE_M = {"ply": 1e-6, "sog": 2e-3, "splat": 1e-6, "spz": 3e-4,
                        "compressed-ply": 5e-3}
RENDER_PSNR_DB = {"ply": 60, "sog": 30, "splat": 30, "spz": 32, "compressed-ply": 30}


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> tuple[Splats, dict[str, Path]]:
    """One degree-0 model away from the origin, exported to every format (SOG and .spz centred)."""
    folder = tmp_path_factory.mktemp("exports")
    base = random_scene(2000, sh_degree=0, seed=4)
    model = Splats(base.means + OFFSET, base.scales, base.quats, base.opacities, base.sh0,
                   base.shN)
    source = folder / "splats.ply"
    write_ply(source, model)
    out = {}
    for fmt, name in FORMATS.items():
        out[fmt] = folder / name
        export_splats(source, fmt, out[fmt], ExportOptions(sh_degree=0))
    return model, out


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_comes_back_in_the_project_frame(exports, fmt):
    model, files = exports
    loaded = load_model(files[fmt])
    assert loaded.format == fmt and model_format(files[fmt]) == fmt
    assert loaded.frame.has_sidecar
    assert len(loaded.splats) == len(model)
    # the order may change (Morton, importance): match each splat to the nearest original
    from scipy.spatial import cKDTree

    dist, _ = cKDTree(model.means).query(loaded.splats.means)
    tolerance = POSITION_TOLERANCE_M[fmt]
    assert np.median(dist) < tolerance and dist.max() < 10 * tolerance
    centred = np.abs(json.loads(files[fmt].with_name(files[fmt].name + ".georef.json")
                                .read_text())["offset_m"]).max() > 1
    assert centred == (fmt in ("sog", "spz"))


def test_a_model_without_sidecar_stays_in_its_own_frame(tmp_path):
    model = random_scene(50, sh_degree=0)
    write_ply(tmp_path / "elsewhere.ply", model)
    loaded = load_model(tmp_path / "elsewhere.ply")
    assert not loaded.frame.has_sidecar and "own frame" in loaded.frame.describe()
    np.testing.assert_array_equal(loaded.splats.means, model.means)


def test_unbundled_sog_opens_from_its_folder_or_meta_json(exports, tmp_path):
    model, _ = exports
    source = tmp_path / "splats.ply"
    write_ply(source, model)
    export_splats(source, "sog", tmp_path / "unbundled", ExportOptions(sh_degree=0))
    by_folder = read_model(tmp_path / "unbundled")
    by_meta = read_model(tmp_path / "unbundled" / "meta.json")
    np.testing.assert_array_equal(by_folder.means, by_meta.means)
    assert abs(by_folder.means.mean(axis=0) - model.means.mean(axis=0)).max() < 0.01


def test_bad_inputs_are_refused_naming_the_file(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="notes.txt is not a splat model"):
        read_model(tmp_path / "notes.txt")
    with pytest.raises(InputError, match="without meta.json"):
        read_model(tmp_path)
    (tmp_path / "broken.splat").write_bytes(b"\0" * 33)
    with pytest.raises(InputError, match="broken.splat"):
        read_model(tmp_path / "broken.splat")
    write_ply(tmp_path / "m.ply", random_scene(10, sh_degree=0))
    (tmp_path / "m.ply.georef.json").write_text('{"offset_m": [1, "x"]}')
    with pytest.raises(InputError, match="georef.json"):
        read_model(tmp_path / "m.ply")


def test_nonfinite_splats_are_dropped_and_counted(tmp_path):
    from app.pipeline.formats.splat import RECORD, encode_splat

    records = np.frombuffer(encode_splat(random_scene(20, sh_degree=0))[0], RECORD).copy()
    records["position"][3] = np.nan  # what a broken exporter writes
    (tmp_path / "m.splat").write_bytes(records.tobytes())
    loaded = load_model(tmp_path / "m.splat")
    assert loaded.dropped_nonfinite == 1 and len(loaded.splats) == 19
    assert "1 with NaN/inf values dropped" in loaded.describe()


@needs_gl()
@pytest.mark.gui
def test_every_format_renders_the_same_image_within_its_codec_error(exports):
    model, files = exports
    viewmat, K = camera(OFFSET + [0.6, -4.0, 3.0], OFFSET)
    reference = render(model, viewmat, K)
    assert reference.mean() > 0.1
    for fmt, path in files.items():
        assert psnr(render(read_model(path), viewmat, K), reference) >= RENDER_PSNR_DB[fmt], fmt
