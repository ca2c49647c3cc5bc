"""The 3DGS PLY: round trip in the reference layout, and refusal of broken files."""

from __future__ import annotations

import numpy as np
import pytest

from app.pipeline.errors import InputError
from app.pipeline.formats.ply import read_header, read_ply, write_ply
from app.pipeline.formats.splats import Splats


def random_splats(n: int, k: int = 15, seed: int = 0) -> Splats:
    rng = np.random.default_rng(seed)
    f = lambda *s: rng.normal(size=s).astype(np.float32)  # noqa: E731
    return Splats(f(n, 3), f(n, 3), f(n, 4), f(n), f(n, 3), f(n, k, 3))


def test_round_trip_keeps_every_value_and_the_reference_layout(tmp_path):
    splats = random_splats(100)
    write_ply(tmp_path / "s.ply", splats)
    count, names, fmt, _ = read_header(tmp_path / "s.ply")
    assert (count, fmt) == (100, "binary_little_endian")
    assert names[:9] == ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
    assert names[-8:] == ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    back = read_ply(tmp_path / "s.ply")
    for name in ("means", "scales", "quats", "opacities", "sh0", "shN"):
        np.testing.assert_array_equal(getattr(back, name), getattr(splats, name))


def test_f_rest_is_channel_major(tmp_path):
    splats = random_splats(2, k=3)
    write_ply(tmp_path / "s.ply", splats)
    from plyfile import PlyData
    v = PlyData.read(str(tmp_path / "s.ply"))["vertex"]
    assert v["f_rest_1"][0] == splats.shN[0, 1, 0]  # red, coefficient 1
    assert v["f_rest_3"][0] == splats.shN[0, 0, 1]  # green, coefficient 0


def test_truncated_file_is_refused_before_reading(tmp_path):
    write_ply(tmp_path / "s.ply", random_splats(1000))
    data = (tmp_path / "s.ply").read_bytes()
    (tmp_path / "t.ply").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated"):
        read_ply(tmp_path / "t.ply")


def test_a_mesh_ply_is_refused_with_the_missing_properties(tmp_path):
    (tmp_path / "m.ply").write_bytes(b"ply\nformat ascii 1.0\nelement vertex 1\n"
                                     b"property float x\nproperty float y\nproperty float z\n"
                                     b"end_header\n0 0 0\n")
    with pytest.raises(InputError, match="lacks the 3DGS properties"):
        read_ply(tmp_path / "m.ply")
