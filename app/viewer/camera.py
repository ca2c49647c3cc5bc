"""The viewer's vispy camera: a pinhole model (pose + intrinsics) that can take a registered
camera's exact view, with orbit, pan, zoom and WASD fly.

Hand-written rather than vispy's Turntable/Fly cameras: those have no principal point nor pixel
focal lengths, so they cannot reproduce a photo's view, and they cannot switch between orbiting
and flying while keeping the pose.
"""

from __future__ import annotations

import numpy as np
from vispy.scene.cameras import BaseCamera
from vispy.visuals.transforms import MatrixTransform

from .pose import Pose, fit_intrinsics, projection

FOV_DEG = 50.0  # vertical field of view of the free camera
ORBIT_RAD_PER_PX = 0.005
FLY_KEYS = {"W": (1, 0, 0), "S": (-1, 0, 0), "A": (0, -1, 0), "D": (0, 1, 0),
            "Q": (0, 0, -1), "E": (0, 0, 1)}
FLY_STEP = 0.04  # of the pivot distance per key press (auto-repeat keeps it moving)


class PinholeCamera(BaseCamera):
    """Pose + intrinsics; `intrinsics` None is a free camera with a fixed vertical field of view."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pose = Pose.looking_at(np.array([0.0, -3.0, 2.0]), np.zeros(3))
        self.intrinsics: tuple[np.ndarray, tuple[int, int]] | None = None  # (K, image size)
        self.scene_size = 1.0  # sets the near and far planes
        self._home: Pose | None = None
        self._matrix = MatrixTransform()

    # -- state ------------------------------------------------------------------------------------
    def K(self, viewport: tuple[int, int]) -> np.ndarray:
        """Intrinsics for a viewport (w, h): the photo's letterboxed, or the free field of view."""
        if self.intrinsics is not None:
            return fit_intrinsics(self.intrinsics[0], self.intrinsics[1], viewport)
        f = viewport[1] / (2 * np.tan(np.radians(FOV_DEG) / 2))
        return np.array([[f, 0, viewport[0] / 2], [0, f, viewport[1] / 2], [0, 0, 1.0]])

    def mvp(self, viewport: tuple[int, int]) -> np.ndarray:
        """4x4 world -> clip matrix for a viewport (w, h) in pixels."""
        near = max(1e-3, self.scene_size * 1e-4)
        far = max(self.scene_size * 100.0, self.pose.distance * 10)
        return projection(self.K(viewport), viewport[0], viewport[1], near, far) @ self.pose.viewmat

    @property
    def viewport(self) -> tuple[int, int]:
        """The viewbox size in pixels."""
        w, h = self._viewbox.size if self._viewbox is not None else (1, 1)
        return max(1, int(round(w))), max(1, int(round(h)))

    def set_home(self, centre: np.ndarray, size: float) -> None:
        """Where Reset returns: looking at `centre` from the south-east, above, fitting `size`."""
        self.scene_size = max(float(size), 1e-6)
        distance = 0.45 * self.scene_size / np.tan(np.radians(FOV_DEG) / 2)
        azimuth, elevation = np.radians(-60.0), np.radians(35.0)
        offset = distance * np.array([np.cos(elevation) * np.cos(azimuth),
                                      np.cos(elevation) * np.sin(azimuth), np.sin(elevation)])
        self._home = Pose.looking_at(np.asarray(centre, float) + offset, centre)

    def reset(self) -> None:
        """Back to the home view and the free field of view."""
        if self._home is not None:
            self.pose = Pose(self._home.R.copy(), self._home.eye.copy(), self._home.pivot.copy())
        self.intrinsics = None
        self.view_changed()

    def look_through(self, viewmat: np.ndarray, K: np.ndarray, size: tuple[int, int]) -> None:
        """Take a registered camera's pose and intrinsics (image `size` (w, h))."""
        self.pose = Pose.from_viewmat(viewmat, max(self.pose.distance, 0.1 * self.scene_size))
        self.intrinsics = (np.asarray(K, float), (int(size[0]), int(size[1])))
        self.view_changed()

    # -- vispy ------------------------------------------------------------------------------------
    def _update_transform(self, event=None) -> None:
        if self._viewbox is None:
            return
        w, h = self.viewport
        self._matrix.matrix = self.mvp((w, h)).T  # vispy maps row vectors
        self._viewbox_tr.set_mapping([[-1, 1], [1, -1]], [[0, 0], [w, h]])
        self._set_scene_transform(self._transform_cache.get([self._viewbox_tr, self._matrix]))
        self._transform_cache.roll()

    def viewbox_mouse_event(self, event) -> None:
        """Left drag orbits, right / middle / shift-left drag pans, the wheel zooms."""
        super().viewbox_mouse_event(event)
        if event.handled or not self.interactive:
            return
        if event.type == "mouse_wheel":
            self.pose.zoom(0.85 ** event.delta[1])
            self.view_changed()
            event.handled = True
        elif event.type == "mouse_move" and event.press_event is not None:
            last = event.last_event.pos if event.last_event is not None else event.pos
            dx, dy = (np.asarray(event.pos[:2]) - np.asarray(last[:2])).astype(float)
            button = event.press_event.button
            shift = "Shift" in [getattr(k, "name", k) for k in (event.modifiers or ())]
            if button == 1 and not shift:
                self.pose.orbit(-dx * ORBIT_RAD_PER_PX, dy * ORBIT_RAD_PER_PX)
            else:
                per_px = self.pose.distance / self.K(self.viewport)[1, 1]
                self.pose.pan(-dx * per_px, -dy * per_px)
            self.view_changed()
            event.handled = True

    def viewbox_key_event(self, event) -> None:
        """W/S forward and back, A/D sideways, Q/E down and up, R resets."""
        super().viewbox_key_event(event)
        if event.handled or not self.interactive or event.type != "key_press":
            return
        name = getattr(event.key, "name", "")
        if name in FLY_KEYS:
            forward, right, up = FLY_KEYS[name]
            step = FLY_STEP * max(self.pose.distance, 1e-3 * self.scene_size)
            self.pose.fly(forward * step, right * step, up * step)
            self.view_changed()
            event.handled = True
        elif name == "R":
            self.reset()
            event.handled = True
