"""Picking, measuring and the crop box: a click finds the composited depth of the splats under
it, distances between known splats come out within 1 %, points get their WGS84 position, and
the crop box converts to what export expects."""

from __future__ import annotations

import numpy as np
import pytest

from app.viewer.crop import CropBox, corners
from app.viewer.measure import Georef, describe_distance, describe_point
from app.viewer.picking import pick
from app.viewer.pose import Pose
from app.viewer.splat_data import prepare
from tests.viewer_gl import splats

GEO = {"georeferenced": True, "origin": {"lat": 50.8198, "lon": -0.1372, "alt": 47.8},
       "gps_residual_m": {"mean": 0.42, "max": 0.9, "images": 18},
       "accuracy": {"position_m": 0.31, "vertical_m": 0.8, "scale": 0.004, "heading_deg": 0.2}}


def test_the_picked_depth_is_the_composited_expectation_of_the_splats_on_the_ray():
    model = splats([[0, 0, 10.0], [0, 0, 12.0]], np.log([[0.2] * 3] * 2), [0.0, 0.0],
                   [[1, 0, 0], [0, 1, 0]])  # opacity 0.5 each
    point = pick(prepare(model), np.zeros(3), np.array([0, 0, 1.0]))
    expected = (0.5 * 10 + 0.5 * 0.5 * 12) / (0.5 + 0.25)
    np.testing.assert_allclose(point, [0, 0, expected], atol=1e-6)
    assert pick(prepare(model), np.zeros(3), np.array([1.0, 0, 0])) is None  # nothing there


def ground_with_two_markers(seed: int = 0):
    """Opaque ground splats and two markers standing above it (ENU metres)."""
    rng = np.random.default_rng(seed)
    n = 20_000
    ground = np.column_stack([rng.uniform(-20, 20, (n, 2)), rng.normal(0, 0.05, n)])
    a, b = np.array([-6.0, 3.0, 2.0]), np.array([8.0, -4.0, 5.0])
    means = np.vstack([ground, a, b])
    scales = np.vstack([np.log(rng.uniform(0.1, 0.3, (n, 3))), np.log([[0.15] * 3] * 2)])
    scales[:n, 2] = np.log(0.02)  # flat ground splats
    model = splats(means, scales, np.r_[rng.normal(3, 1, n), 4.6, 4.6],
                   np.vstack([rng.uniform(0.3, 0.6, (n, 3)), [[1, 0, 0], [0, 0, 1]]]))
    return model, a, b


def test_a_distance_between_two_known_splats_is_within_one_percent():
    model, a, b = ground_with_two_markers()
    arrays = prepare(model)
    pose = Pose.looking_at(np.array([2.0, -25.0, 30.0]), np.zeros(3))
    K = np.array([[800.0, 0, 640], [0, 800.0, 480], [0, 0, 1]])
    picked = []
    for target in (a, b):
        u, v, w = K @ (pose.R @ (target - pose.eye))
        click = np.floor([u / w, v / w]) + 0.5  # the centre of the pixel under the cursor
        point = pick(arrays, *pose.ray(K, *click))
        assert point is not None
        picked.append(point)
    truth = np.linalg.norm(b - a)
    assert abs(np.linalg.norm(picked[1] - picked[0]) - truth) < 0.01 * truth
    assert abs((picked[1] - picked[0])[2] - 3.0) < 0.01 * truth
    ground = pick(arrays, *pose.ray(K, 100.5, 900.5))  # a click on the ground
    assert ground is not None and abs(ground[2]) < 0.1


def test_points_get_their_geographic_position_and_the_stated_accuracy():
    georef = Georef.from_geo_json(GEO)
    lat, lon, alt = georef.lla(np.array([0.0, 111.2, 10.0]))
    assert abs(lat - (50.8198 + 0.001)) < 2e-5 and abs(lon - -0.1372) < 1e-7
    assert abs(alt - 57.8) < 0.01
    text = describe_point(np.array([1.0, 2.0, 3.0]), georef)
    assert "E 1.00, N 2.00, U 3.00 m" in text and "50.81" in text
    assert "position 0.31 m, height 0.80 m, scale 0.40 %" in georef.accuracy
    older = {k: v for k, v in GEO.items() if k != "accuracy"}  # before geo.json had accuracy
    assert "0.42 m mean" in Georef.from_geo_json(older).accuracy
    assert describe_distance(np.zeros(3), np.array([3.0, 4.0, 12.0]), georef).startswith(
        "13.000 m (horizontal 5.000, height +12.000)")


def test_an_unreferenced_model_says_its_units_are_unknown():
    georef = Georef.from_geo_json({"georeferenced": False, "origin": None})
    assert georef.lla(np.zeros(3)) is None
    assert "scale unknown" in describe_distance(np.zeros(3), np.ones(3), georef)
    assert "not georeferenced" in describe_point(np.zeros(3), georef)


def test_dragging_a_crop_face_stops_at_the_opposite_one_and_tells_listeners():
    box = CropBox([0, 0, 0], [10, 10, 10])
    heard = []
    box.subscribe(lambda b: heard.append((b.minimum, b.maximum)))
    box.set_face(0, 1, 4.0)
    box.set_face(0, 0, 7.0)  # would cross the maximum face: stops at it
    assert (box.minimum, box.maximum) == ((4.0, 0.0, 0.0), (4.0, 10.0, 10.0))
    assert len(heard) == 2
    assert corners(box) is None  # off: the view hides nothing
    box.set(enabled=True)
    assert corners(box) == ((4.0, 0.0, 0.0), (4.0, 10.0, 10.0))
