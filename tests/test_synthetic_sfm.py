"""The property everyone downstream relies on: pycolmap reconstructs the small sample flight."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


@pytest.mark.slow
def test_pycolmap_registers_all_12_images_of_the_fixture_flight_at_their_true_poses(
        sample_flight: Path, tmp_path: Path):
    import pycolmap

    truth = json.loads((sample_flight / "ground_truth.json").read_text(encoding="utf-8"))
    names = [img["file"] for img in truth["images"]]
    db = tmp_path / "database.db"
    reader = pycolmap.ImageReaderOptions()
    reader.camera_model = "PINHOLE"
    pycolmap.extract_features(db, sample_flight, image_names=names, camera_mode=pycolmap.CameraMode.SINGLE,
                              reader_options=reader, device=pycolmap.Device.cpu)
    pycolmap.match_exhaustive(db, device=pycolmap.Device.cpu)
    models = pycolmap.incremental_mapping(db, sample_flight, tmp_path / "sparse")
    best = max(models.values(), key=lambda r: r.num_reg_images())
    assert best.num_reg_images() == len(truth["images"]) == 12
    assert best.num_points3D() > 2000
    assert best.compute_mean_reprojection_error() < 1.0

    by_name = {im.name: im for im in best.images.values()}
    estimated = np.array([by_name[n].projection_center() for n in names])
    true = np.array([img["position_enu"] for img in truth["images"]])
    sim = pycolmap.estimate_sim3d(estimated, true)
    aligned = np.array([sim * p for p in estimated])
    assert np.abs(aligned - true).max() < 0.5  # metres, over a ~150 m survey
