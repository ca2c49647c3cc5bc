"""Bad hand-offs are refused before training, with the file and the fix named."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pycolmap
import pytest
from PIL import Image

from app.pipeline.errors import InputError
from app.pipeline.train.data import load_scene
from tests.train_scene import edit_model, make_scene


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pristine")
    make_scene(folder, n_views=4, n_points=60, width=32, height=24)
    return folder


@pytest.fixture
def scene(pristine, tmp_path) -> tuple[Path, Path]:
    shutil.copytree(pristine, tmp_path / "s")
    return tmp_path / "s" / "sparse", tmp_path / "s" / "images"


def refused(scene, **kw) -> InputError:
    with pytest.raises(InputError) as err:
        load_scene(*scene, **{"min_points": 20, **kw})
    return err.value


def test_a_valid_scene_loads_with_views_points_and_a_held_out_split(scene):
    loaded = load_scene(*scene, min_points=20)
    assert len(loaded.views) == 4 and loaded.points.shape == (60, 3)
    assert loaded.views[0].image().shape == (24, 32, 3)
    train, test = loaded.split(4)
    assert [v.name for v in test] == ["view_00.png"] and len(train) == 3
    assert loaded.scene_scale() > 1


def test_long_sides_are_shrunk_to_max_side_with_scaled_intrinsics(scene):
    view = load_scene(*scene, min_points=20, max_side=16).views[0]
    assert (view.width, view.height) == (16, 12)
    assert view.K[0, 2] == pytest.approx(8.0) and view.image().shape == (12, 16, 3)


def test_too_few_points_is_a_clear_error_not_a_crash(scene):
    err = refused(scene, min_points=100)
    assert "only 60 usable sparse points" in err.message and "at least 100" in err.message


def test_points_outside_every_view_are_dropped_then_refused_when_too_many(scene):
    edit_model(scene[0], [[0, 0, 500.0], [900, 0, 0]])  # above the cameras, far to the side
    loaded = load_scene(*scene, min_points=20)
    assert (len(loaded.points), loaded.dropped_points) == (60, 2)
    edit_model(scene[0], np.full((100, 3), 1e5))
    err = refused(scene, min_points=61)
    assert "outside every camera's view" in err.message


def test_non_finite_points_are_refused(scene):
    edit_model(scene[0], [[np.nan, 0, 0]])
    assert "non-finite" in refused(scene).message


def test_missing_images_are_listed(scene):
    (scene[1] / "view_02.png").unlink()
    err = refused(scene)
    assert "view_02.png" in err.message and "missing" in err.message


def test_an_image_of_another_size_than_its_camera_is_refused(scene):
    Image.new("RGB", (40, 30)).save(scene[1] / "view_01.png")
    err = refused(scene)
    assert "view_01.png" in err.path and "40x30" in err.message and "32x24" in err.message


def test_cameras_of_different_sizes_are_fine(scene):
    rec = pycolmap.Reconstruction(str(scene[0]))
    rec.add_camera_with_trivial_rig(pycolmap.Camera(model="PINHOLE", width=40, height=20,
                                                    params=[30, 30, 20, 10], camera_id=2))
    pose = rec.images[1].cam_from_world()
    rec.add_image_with_trivial_frame(pycolmap.Image(name="wide.png", camera_id=2, image_id=99),
                                     pose)
    rec.write_binary(str(scene[0]))
    Image.new("RGB", (40, 20)).save(scene[1] / "wide.png")
    sizes = {(v.width, v.height) for v in load_scene(*scene, min_points=20).views}
    assert sizes == {(32, 24), (40, 20)}


def test_a_distorted_camera_model_is_refused(scene):
    rec = pycolmap.Reconstruction(str(scene[0]))
    cam = rec.cameras[1]
    cam.model = "SIMPLE_RADIAL"
    cam.params = [28.8, 16, 12, 0.01]
    rec.write_binary(str(scene[0]))
    err = refused(scene)
    assert "SIMPLE_RADIAL" in err.message and "undistorted" in err.hint


def test_a_missing_model_file_is_named(scene):
    (scene[0] / "points3D.bin").unlink()
    assert "points3D.bin" in refused(scene).message
