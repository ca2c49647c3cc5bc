"""The draw scheduler: a moving camera draws the budgeted subset from the previous sort while the
next runs elsewhere; a resting camera gets the whole model in chunks within the budget; the
budget follows the measured draw time (no OpenGL: the visual's side is played by the test)."""

from __future__ import annotations

import numpy as np

from app.viewer.pose import Pose, projection
from app.viewer.scheduler import DrawScheduler, camera_position


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Pool:
    """Holds submitted jobs until the test runs them, as a background pool would."""

    def __init__(self) -> None:
        self.jobs: list = []

    def submit(self, fn, done) -> None:
        self.jobs.append((fn, done))

    def run_all(self) -> None:
        jobs, self.jobs = self.jobs, []
        for fn, done in jobs:
            done(fn())


def mvp(eye, target=(0.0, 0.0, 0.0), size=(200, 100)) -> np.ndarray:
    K = np.array([[100.0, 0, size[0] / 2], [0, 100.0, size[1] / 2], [0, 0, 1]])
    return projection(K, *size, 0.01, 1000.0) @ Pose.looking_at(np.array(eye, float),
                                                                np.array(target, float)).viewmat


def grid(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.ascontiguousarray(rng.uniform(-5, 5, (3, n)).astype(np.float32))


def table(xyz: np.ndarray):
    """Row tables whose first row holds the position and the slot (to read plans back)."""
    t0 = np.c_[xyz.T, np.arange(xyz.shape[1])].astype(np.float32)
    return t0, np.zeros_like(t0), np.zeros_like(t0)


def ids(plan) -> np.ndarray:
    """The slots a plan draws, in order."""
    return plan.rows[0][:, 3].astype(int)


def make(n=10_000, budget_s=0.03):
    clock, pool, redraws = Clock(), Pool(), []
    scheduler = DrawScheduler(pool.submit, redraws.append, frame_budget_s=budget_s, rest_s=0.2,
                              clock=clock)
    scheduler.set_data(grid(n), table(grid(n)))
    return scheduler, clock, pool, redraws


def shown(s, pool, view):
    """Frame, sort, frame: the view's budgeted order is on screen."""
    s.frame(view, (200, 100))
    pool.run_all()
    return s.frame(view, (200, 100))


def test_camera_position_is_recovered_from_the_clip_matrix():
    np.testing.assert_allclose(camera_position(mvp([3.0, -7.0, 4.0])), [3, -7, 4], atol=1e-6)


def test_a_moving_camera_never_waits_for_a_sort_and_draws_the_previous_order():
    s, clock, pool, _ = make()
    first = s.frame(mvp([0, -20, 5]), (200, 100))
    assert first.count == 0 and first.clear and len(pool.jobs) == 1  # nothing sorted: clean
    pool.run_all()
    clock.now += 0.016
    plan = s.frame(mvp([0, -20, 5]), (200, 100))
    assert plan.target == "preview" and plan.count == min(s.budget, 10_000)
    sorted_for_first = ids(plan)
    clock.now += 0.016
    moved = s.frame(mvp([1, -20, 5]), (200, 100))  # the camera moved: draw the old order now
    np.testing.assert_array_equal(ids(moved), sorted_for_first)
    assert len(pool.jobs) == 1  # and sort for the new view elsewhere
    s.frame(mvp([2, -20, 5]), (200, 100))
    assert len(pool.jobs) == 1  # one sort at a time


def test_the_draw_order_is_far_to_near_and_the_subset_is_the_most_important():
    s, clock, pool, _ = make(n=50_000)
    s.measured(10_000, 0.06)  # 6 us per splat: 5,000 fit the 30 ms budget
    assert s.budget == 5_000
    view = mvp([0, -20, 5])
    s.frame(view, (200, 100))
    pool.run_all()
    plan = s.frame(view, (200, 100))
    assert plan.count == 5_000
    depth = np.c_[grid(50_000).T, np.ones(50_000)] @ view[3]
    d = depth[ids(plan)]
    assert np.all(np.diff(d) <= (d.max() - d.min()) / 65535 * 1.01)  # far to near (16-bit keys)
    visible = np.flatnonzero(np.abs(np.c_[grid(50_000).T, np.ones(50_000)] @ view[0]) < 2 * depth)
    assert set(ids(plan)) <= set(visible[:5_000]) | set(np.flatnonzero(depth <= 0.01))


def test_a_resting_camera_refines_to_the_whole_model_in_budgeted_chunks():
    s, clock, pool, redraws = make(n=20_000)
    s.measured(10_000, 0.06)  # 5,000 splats per moving frame
    s.measured(10_000, 0.12, "refine")  # 2,500 per chunk at full resolution
    view = mvp([0, -30, 8])
    s.frame(view, (200, 100))
    pool.run_all()
    s.frame(view, (200, 100))
    assert not s.complete
    clock.now += 0.25  # rested
    s.frame(view, (200, 100))
    assert len(pool.jobs) == 1  # the full sort
    pool.run_all()
    chunks = []
    while True:
        clock.now += 0.02
        plan = s.frame(view, (200, 100))
        assert plan.target == "refine" and plan.count <= 2_500
        chunks.append(ids(plan))
        if plan.swap:
            break
    assert chunks and s.complete and s.drawn == sum(len(c) for c in chunks) == 20_000
    assert len(np.unique(np.concatenate(chunks))) == 20_000 and plan.show == "display"
    still = s.frame(view, (200, 100))
    assert still.rows is None and still.show == "display"  # nothing more to draw
    clock.now += 0.02
    moved = s.frame(mvp([0, -29, 8]), (200, 100))
    assert moved.target == "preview" and moved.scale == 0.5  # the model needs 8 chunks
    assert not s.complete and not s.refining


def test_moving_frames_are_full_resolution_where_the_whole_model_fits_a_frame():
    s, clock, pool, _ = make(n=10_000)
    s.measured(10_000, 0.01, "refine")  # a desktop GPU: 10,000 splats in 10 ms
    view = mvp([0, -20, 5])
    s.frame(view, (200, 100))
    pool.run_all()
    plan = s.frame(view, (200, 100))
    assert plan.scale == 1.0 and plan.count == 10_000 and s.complete  # nothing to refine
    clock.now += 1.0
    assert s.frame(view, (200, 100)).target is None and not pool.jobs


def test_the_budget_follows_the_measured_draw_time():
    s, *_ = make(n=2_000_000)
    s.measured(20_000, 0.2)  # llvmpipe-like: 10 us per splat
    slow = s.budget
    for _ in range(20):  # a third of a second at 60 frames per second
        s.measured(1_000_000, 0.01)  # a desktop GPU
    assert slow <= 3_000 and s.budget >= 2_000_000
    s.measured(20_000, 0.2)
    assert s.budget == slow  # a slow frame shrinks it at once


def test_a_new_model_keeps_the_last_image_until_its_order_arrives():
    s, clock, pool, _ = make()
    view = mvp([0, -20, 5])
    shown(s, pool, view)
    s.set_data(grid(8_000), table(grid(8_000)))
    kept = s.frame(view, (200, 100))
    assert kept.rows is None and not kept.clear  # the snapshot is being sorted: keep the image
    pool.run_all()
    assert s.frame(view, (200, 100)).count > 0


def test_a_changed_crop_box_redraws_at_once_and_sorts_again():
    s, clock, pool, _ = make()
    view = mvp([0, -20, 5])
    shown(s, pool, view)
    s.set_crop((np.array([-1, -1, -1.0]), np.array([1, 1, 1.0])))
    redrawn = s.frame(view, (200, 100))
    assert redrawn.count > 0 and len(pool.jobs) == 1  # at once, culled in the shader
    pool.run_all()
    inside = ids(s.frame(view, (200, 100)))
    xyz = grid(10_000)
    assert np.all(np.abs(xyz[:, inside]) <= 1)


def test_a_failed_sort_does_not_block_the_next():
    s, clock, pool, _ = make()
    s.frame(mvp([0, -20, 5]), (200, 100))
    fn, done = pool.jobs.pop()
    done(RuntimeError("worker died"))
    assert isinstance(s.error, RuntimeError)
    s.frame(mvp([0, -21, 5]), (200, 100))
    assert len(pool.jobs) == 1


def test_view_dependent_colours_are_evaluated_off_the_ui_thread_once_the_camera_rests():
    clock, pool = Clock(), Pool()
    s = DrawScheduler(pool.submit, lambda delay: None, rest_s=0.2, clock=clock)
    eyes = []

    def colours(eye):
        eyes.append(eye)
        return np.full(1_000, eye[0], np.float32)  # a colour that says where it was seen from

    s.set_data(grid(1_000), table(grid(1_000)), colours)
    s.measured(1_000, 1.0)  # 1 ms per splat: 30 per frame, so the model needs refining
    view = mvp([4.0, -20, 5])
    s.frame(view, (200, 100))
    pool.run_all()
    s.frame(view, (200, 100))
    assert eyes == []  # not while moving
    clock.now += 0.25
    s.frame(view, (200, 100))
    pool.run_all()
    assert len(eyes) == 1 and abs(eyes[0][0] - 4.0) < 1e-9
    plan = s.frame(view, (200, 100))
    assert plan.target == "refine" and np.all(plan.rows[2][:, 2] == np.float32(4.0))


def test_a_frame_just_before_the_rest_asks_for_another_at_the_rest():
    s, clock, pool, redraws = make()
    view = mvp([0, -20, 5])
    shown(s, pool, view)
    redraws.clear()
    clock.now += 0.19  # a timer firing 5 % early, as Qt's coarse timers may
    s.frame(view, (200, 100))
    assert redraws and 0.005 < redraws[-1] <= 0.02 and not pool.jobs
    clock.now += redraws[-1]
    s.frame(view, (200, 100))
    assert len(pool.jobs) == 1  # rested: the full sort


def test_a_jump_refines_at_once_and_an_empty_image_gets_a_quick_list_first():
    s, clock, pool, _ = make(n=20_000)
    s.measured(10_000, 0.06)  # 5,000 splats per moving frame
    s.settle()  # the view was fitted (a jump, not a drag)
    view = mvp([0, -30, 8])
    s.frame(view, (200, 100))
    (fn, done), = pool.jobs
    assert fn()[0].limit == s.budget  # nothing drawn yet: the quick budgeted list first
    pool.run_all()
    s.frame(view, (200, 100))
    assert len(pool.jobs) == 1 and pool.jobs[0][0]()[0].limit == 20_000  # then the full sort
    pool.run_all()  # no rest waited for: the clock has not moved
    s.settle()
    jumped = mvp([5, -30, 8])
    s.frame(jumped, (200, 100))
    assert pool.jobs[0][0]()[0].limit == 20_000  # an image is shown: the full sort at once


def test_the_home_view_fits_its_points_to_the_viewport_aspect():
    from app.viewer.pose import fitted_pose

    points = np.array([[x, y, z] for x in (-50, 50) for y in (-10, 10) for z in (0, 5)], float)
    for w, h in ((500, 600), (1200, 400)):
        tan_y = np.tan(np.radians(25))
        pose = fitted_pose(points, [1.0, -1.0, 1.0], tan_y * w / h, tan_y)
        K = np.array([[h / 2 / tan_y, 0, w / 2], [0, h / 2 / tan_y, h / 2], [0, 0, 1]])
        clip = np.c_[points, np.ones(8)] @ (projection(K, w, h, 0.1, 1e4) @ pose.viewmat).T
        ndc = clip[:, :2] / clip[:, 3:]
        assert np.all(np.abs(ndc) <= 1 + 1e-9)  # all in view
        assert np.isclose(np.abs(ndc).max(), 1.0)  # and touching an edge: as close as it can be
        lo, hi = ndc.min(axis=0), ndc.max(axis=0)
        assert np.allclose(lo + hi, 0.0, atol=0.02)  # what is seen is centred, not the box
        assert np.any(hi - lo > 1.95)  # so it spans the view across or down


def test_refinement_chunks_are_cut_by_expected_cost_not_count():
    from app.viewer.sorting import draw_weights

    xyz = grid(20_000)
    t0, t1, t2 = table(xyz)
    big = xyz[1] < -3  # the splats nearest the camera (south) are large: many pixels each
    t1[:, 0] = t1[:, 3] = t2[:, 1] = np.where(big, 4.0, 1e-6)  # 2 m deviations
    t2[:, 3] = 3.0  # reach
    clock, pool = Clock(), Pool()
    s = DrawScheduler(pool.submit, lambda delay: None, rest_s=0.2, clock=clock)
    s.set_data(xyz, (t0, t1, t2))
    s.measured(10_000, 0.15, "refine")  # 15 us per weight: 1,000 weights per 15 ms chunk
    view = mvp([0, -30, 8])
    weights = draw_weights((t0, t1, t2), view, (200, 100))
    assert weights[big].mean() > 10 * weights[~big].mean()  # near and large: far more pixels
    s.frame(view, (200, 100))
    pool.run_all()
    clock.now += 0.25
    s.frame(view, (200, 100))
    pool.run_all()
    plans = []
    while not plans or not plans[-1].swap:
        plans.append(s.frame(view, (200, 100)))
    assert all(p.weight <= s.refine_budget + weights.max() for p in plans)
    counts = [p.count for p in plans]
    assert max(counts[:-1]) > 5 * min(counts[:-1])  # far splats go many to a chunk, near few
    assert sum(counts) == s.drawn


def test_a_list_sorted_for_a_bigger_budget_is_thinned_to_this_frames_budget():
    s, clock, pool, _ = make(n=20_000)
    view = mvp([0, -20, 5])
    s.measured(10_000, 0.0003)  # a cheap view: the list sorted for it holds every splat
    shown(s, pool, view)
    s.measured(10_000, 0.06)  # now 6 us per splat: 5,000 fit a frame
    clock.now += 0.016
    plan = s.frame(mvp([1, -20, 5]), (200, 100))  # moved: the old list is drawn at once
    assert plan.count <= 5_000 and plan.weight <= 5_000
    d = np.c_[ids(plan), np.arange(plan.count)]
    depth = (np.c_[grid(20_000).T, np.ones(20_000)] @ view[3])[d[:, 0]]
    assert np.all(np.diff(depth) <= (depth.max() - depth.min()) / 65535 * 1.01)  # still far first
    assert s.drawn == plan.count
