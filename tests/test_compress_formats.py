"""Splat file formats: .splat, .spz, compressed PLY round trips and the PLY reader's bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from app.pipeline.compress.order import morton_order
from app.pipeline.compress.quality import rotation_error_deg
from app.pipeline.errors import InputError
from app.pipeline.formats import ply as ply_module
from app.pipeline.formats.compressed_ply import read_compressed_ply, write_compressed_ply
from app.pipeline.formats.ply import load_ply, read_ply, write_ply
from app.pipeline.formats.splat import read_splat, write_splat
from app.pipeline.formats.spz import read_spz, write_spz
from splat_scenes import drone_scene


def test_splat_file_is_32_bytes_per_splat_and_keeps_positions_exactly(tmp_path):
    splats = drone_scene(1000, sh_degree=0)
    order = write_splat(tmp_path / "s.splat", splats)
    assert (tmp_path / "s.splat").stat().st_size == 32 * 1000
    back, ref = read_splat(tmp_path / "s.splat"), splats.subset(order)
    np.testing.assert_array_equal(back.means, ref.means)
    assert np.abs(back.scales - ref.scales).max() < 1e-4
    assert rotation_error_deg(ref.quats, back.quats).mean() < 1.0
    assert np.abs(back.rgb() - ref.rgb()).max() <= 0.5 / 255 + 1e-6


def test_spz_round_trip_in_the_ply_frame_with_sh(tmp_path):
    splats = drone_scene(2000, extent=100, sh_degree=3)
    write_spz(tmp_path / "s.spz", splats)
    back = read_spz(tmp_path / "s.spz")
    assert back.sh_degree == 3
    assert np.abs(back.means - splats.means).max() < 0.5 / 4096 + 1e-5  # 12 fractional bits
    assert np.abs(back.scales - splats.scales).max() <= 1 / 32 + 1e-5
    assert rotation_error_deg(splats.quats, back.quats).max() < 0.5
    assert np.abs(back.shN - splats.shN).mean() < 0.05


def test_spz_of_a_scene_too_wide_for_fixed_point_is_refused(tmp_path):
    splats = drone_scene(10, extent=2e7)  # +-10,000 km
    with pytest.raises(InputError, match="spz"):
        write_spz(tmp_path / "s.spz", splats)


def test_compressed_ply_round_trip(tmp_path):
    splats = drone_scene(3000, extent=50, sh_degree=2)
    order = morton_order(splats.means)
    write_compressed_ply(tmp_path / "s.compressed.ply", splats, order)
    back, ref = read_compressed_ply(tmp_path / "s.compressed.ply"), splats.subset(order)
    assert back.sh_degree == 2
    assert np.linalg.norm(back.means - ref.means, axis=1).mean() < 0.05
    assert rotation_error_deg(ref.quats, back.quats).mean() < 0.5
    assert np.abs(back.shN - ref.shN).max() <= 8 / 256 + 1e-5


def _ply_with_header(tmp_path, header: str, rows: np.ndarray):
    path = tmp_path / "h.ply"
    path.write_bytes(header.encode("ascii") + rows.astype("<f4").tobytes())
    return path


def test_nan_and_inf_splats_are_dropped_and_counted(tmp_path):
    splats = drone_scene(100, sh_degree=1)
    splats.means[3, 0] = np.nan
    splats.opacities[7] = np.inf
    write_ply(tmp_path / "s.ply", splats)
    loaded = load_ply(tmp_path / "s.ply")
    assert loaded.dropped_nonfinite == 2 and len(loaded.splats) == 98
    assert np.all(loaded.splats.finite_mask())


def test_extra_properties_are_ignored_and_reported(tmp_path):
    names = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2", "opacity",
             "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3", "confidence"]
    header = ("ply\nformat binary_little_endian 1.0\nelement vertex 2\n"
              + "".join(f"property float {n}\n" for n in names) + "end_header\n")
    rows = np.arange(2 * len(names), dtype=np.float32).reshape(2, -1)
    loaded = load_ply(_ply_with_header(tmp_path, header, rows))
    assert loaded.ignored_properties == ["nx", "ny", "nz", "confidence"]
    assert loaded.splats.means[1, 0] == rows[1, 0] and loaded.splats.quats[0, 3] == rows[0, 16]


def test_a_broken_sh_layout_is_refused(tmp_path):
    names = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "f_rest_0", "f_rest_1", "opacity",
             "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    header = ("ply\nformat binary_little_endian 1.0\nelement vertex 1\n"
              + "".join(f"property float {n}\n" for n in names) + "end_header\n")
    with pytest.raises(InputError, match="f_rest"):
        read_ply(_ply_with_header(tmp_path, header, np.zeros((1, len(names)))))


def test_a_header_promising_a_billion_splats_is_refused_before_allocating(tmp_path):
    write_ply(tmp_path / "s.ply", drone_scene(10, sh_degree=0))
    data = (tmp_path / "s.ply").read_bytes().replace(b"element vertex 10\n",
                                                     b"element vertex 1000000000\n")
    (tmp_path / "big.ply").write_bytes(data)
    with pytest.raises(InputError, match="truncated"):
        read_ply(tmp_path / "big.ply")


def test_zero_splats_read_as_an_empty_set(tmp_path):
    write_ply(tmp_path / "z.ply", drone_scene(0, sh_degree=3))
    assert len(read_ply(tmp_path / "z.ply")) == 0


def test_large_files_are_read_in_chunks_with_progress(tmp_path, monkeypatch):
    splats = drone_scene(1000, sh_degree=3)
    write_ply(tmp_path / "s.ply", splats)
    monkeypatch.setattr(ply_module, "CHUNK", 128)
    seen = []
    back = load_ply(tmp_path / "s.ply", progress=lambda f, m: seen.append(f)).splats
    assert len(seen) == 8 and seen[-1] == 1.0
    np.testing.assert_array_equal(back.shN, splats.shN)


def test_ascii_ply_is_read_through_plyfile(tmp_path):
    names = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity",
             "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    text = ("ply\nformat ascii 1.0\nelement vertex 1\n"
            + "".join(f"property float {n}\n" for n in names) + "end_header\n"
            + " ".join(str(i) for i in range(len(names))) + "\n")
    (tmp_path / "a.ply").write_text(text)
    assert read_ply(tmp_path / "a.ply").scales[0, 2] == 9
