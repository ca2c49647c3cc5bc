"""Every export read back by an independent reader: PlayCanvas splat-transform 2.7.1 (node).

Skipped when node or the package is absent; install it with tests/tools/install_splat_transform.sh.
Its back.ply is matched to our source by nearest neighbour (it reorders), colour compared only
for splats with opacity >= 1/255.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import cKDTree

from app.pipeline.compress.quality import rotation_error_deg
from app.pipeline.compress.sog_read import read_sog
from app.pipeline.export import export_splats
from app.pipeline.formats.ply import read_ply, write_ply
from splat_scenes import drone_scene

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(os.environ.get("SPLAT_TRANSFORM",
                          ROOT / ".tools/splat-transform/node_modules/.bin/splat-transform"))
pytestmark = pytest.mark.skipif(not (shutil.which("node") and CLI.exists()),
                                reason="splat-transform absent (tests/tools/install_splat_transform.sh)")

# format: (file name, mean position mm, mean rotation deg, mean colour, mean opacity, mean log-scale)
TOLERANCE = {
    "sog": ("s.sog", 1.0, 1.0, 0.01, 0.002, 0.01),
    "sog-unbundled": ("u/meta.json", 1.0, 1.0, 0.01, 0.002, 0.01),
    "ply": ("s.ply", 1e-3, 1e-3, 1e-6, 1e-6, 1e-6),
    "splat": ("s.splat", 1e-3, 1.0, 0.002, 0.002, 1e-5),
    "spz": ("s.spz", 0.2, 0.5, 0.01, 0.002, 0.02),
    "compressed-ply": ("s.compressed.ply", 30.0, 0.5, 0.01, 0.002, 0.01),
}


def splat_transform(*args: str) -> None:
    subprocess.run([str(CLI), *args], check=True, capture_output=True, timeout=120)


def matched(source, back):
    """The source splats nearest to each splat splat-transform wrote, and the distances."""
    dist, index = cKDTree(source.means).query(back.means)
    return source.subset(index), dist


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("st")
    splats = drone_scene(4000, extent=60, sh_degree=3, offset=(120, 80, 3))
    write_ply(folder / "source.ply", splats)
    return folder, splats


@pytest.mark.parametrize("kind", list(TOLERANCE))
def test_splat_transform_reads_our_export_back_to_the_source(source, kind):
    folder, splats = source
    name, pos_mm, rot_deg, colour, opacity, log_scale = TOLERANCE[kind]
    out = folder / kind / name
    out.parent.mkdir(parents=True, exist_ok=True)
    fmt = "sog" if kind.startswith("sog") else kind
    report = export_splats(folder / "source.ply", fmt, out)
    splat_transform("-w", "-q", str(out), str(folder / kind / "back.ply"))
    back = read_ply(folder / kind / "back.ply")
    back.means += np.asarray(report["centre_offset_m"], np.float32)
    ref, dist = matched(splats, back)
    visible = ref.alpha() >= 1 / 255
    assert len(back) == len(splats)
    assert 1000 * dist.mean() < pos_mm
    assert rotation_error_deg(ref.quats, back.quats).mean() < rot_deg
    assert np.abs(back.rgb() - ref.rgb())[visible].mean() < colour
    assert np.abs(back.alpha() - ref.alpha()).mean() < opacity
    assert np.abs(back.scales - ref.scales).mean() < log_scale
    if fmt in ("sog", "spz", "ply", "compressed-ply"):
        assert back.sh_degree == 3
        assert np.abs(back.shN - ref.shN).mean() < 0.05


def test_we_read_splat_transforms_own_sog(source, tmp_path):
    folder, splats = source
    splat_transform("-w", "-q", "-g", "cpu", str(folder / "source.ply"), "-H", "0",
                    str(tmp_path / "theirs.sog"))
    back = read_sog(tmp_path / "theirs.sog")
    ref, dist = matched(splats, back)
    assert len(back) == len(splats) and back.sh_degree == 0
    assert 1000 * dist.mean() < 5.0
    assert np.abs(back.scales - ref.scales).mean() < 0.02
