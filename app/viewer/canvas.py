"""The vispy scene of the 3D tab: splats, sparse cloud, camera frusta, crop box handles and
measurement marks, with the pinhole camera. Knows no window: callbacks report clicks."""

from __future__ import annotations

from typing import Callable

import numpy as np
from vispy import app as vispy_app
from vispy import scene
from vispy.scene import visuals

from .camera import PinholeCamera
from .crop import CropBox, corners
from .scheduler import Submit, synchronous
from .scene_data import SparseScene
from .splat_visual import DrawData, SplatNode

BACKGROUND = "#101216"
FRUSTUM_COLOR = (1.0, 0.78, 0.25, 0.9)
CROP_COLOR = (0.35, 0.85, 1.0, 1.0)
MEASURE_COLOR = (1.0, 0.35, 0.35, 1.0)
HANDLE_PX = 12  # a press this close to a crop handle drags it
CLICK_PX = 4  # a press and release closer than this is a click
CAMERA_PICK_PX = 18
BOX_EDGES = [(0, 1), (1, 3), (3, 2), (2, 0), (4, 5), (5, 7), (7, 6), (6, 4), (0, 4), (1, 5),
             (2, 6), (3, 7)]


class SceneView:
    """A SceneCanvas with the splat visual; `native` is the Qt widget to embed.

    `submit(fn, done)` runs the splat sorts (the window passes its background pool).
    `on_click(kind, payload)` hears "camera" (a frustum's index), and while `measuring` "ray"
    ((origin, direction) under the cursor) or "point" (a camera centre clicked).
    """

    def __init__(self, parent: object | None = None, size: tuple[int, int] = (800, 600),
                 submit: Submit = synchronous) -> None:
        vispy_app.use_app("pyside6")
        self.canvas = scene.SceneCanvas(keys=None, bgcolor=BACKGROUND, size=size, parent=parent,
                                        show=False)
        self.view = self.canvas.central_widget.add_view(border_width=0, margin=0)
        self.camera = PinholeCamera()
        self.view.camera = self.camera
        self.sparse = visuals.Markers(parent=self.view.scene)
        self.frusta = visuals.Line(connect="segments", color=FRUSTUM_COLOR, width=1.5,
                                   parent=self.view.scene)
        self.splats = SplatNode(submit=submit, parent=self.view.scene)
        self.splats.order = 1  # over the sparse cloud: blitted from its own target
        self.crop_lines = visuals.Line(connect="segments", color=CROP_COLOR, width=2,
                                       parent=self.view.scene)
        self.crop_handles = visuals.Markers(parent=self.view.scene)
        self.measure_line = visuals.Line(color=MEASURE_COLOR, width=3, parent=self.view.scene)
        self.measure_marks = visuals.Markers(parent=self.view.scene)
        self.measure_text = visuals.Text(color="white", font_size=11, anchor_x="left",
                                         parent=self.view.scene)
        for overlay in (self.crop_lines, self.crop_handles, self.measure_line,
                        self.measure_marks, self.measure_text):
            overlay.order = 2
            overlay.set_gl_state("translucent", depth_test=False)
            overlay.visible = False
        for layer in (self.sparse, self.frusta, self.splats):
            layer.visible = False
        self.sparse_data: SparseScene | None = None
        self.crop: CropBox | None = None
        self.measuring = False
        self.on_click: Callable[[str, object], None] = lambda kind, payload: None
        self._bounds: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._layers_on = {"sparse": True, "splats": True}
        self._press: tuple[np.ndarray, tuple[int, int] | None] | None = None
        self._fitted_model = False  # the home view was fitted to a model (not only points)
        self.canvas.events.mouse_press.connect(self._mouse_press)
        self.canvas.events.mouse_move.connect(self._mouse_move)
        self.canvas.events.mouse_release.connect(self._mouse_release)

    @property
    def native(self) -> object:
        """The backend widget (a QWidget under PySide6)."""
        return self.canvas.native

    # -- layers ---------------------------------------------------------------------------------
    def show_sparse(self, sparse: SparseScene) -> None:
        """Draw the SfM points in their colours and the camera frusta."""
        self.sparse_data = sparse
        pts = sparse.points
        if len(pts.xyz):
            self.sparse.set_data(pts.xyz, face_color=pts.rgba, edge_width=0, size=3.0)
        if len(sparse.frusta):
            self.frusta.set_data(pos=sparse.frusta, color=FRUSTUM_COLOR)
        self._set_bounds("sparse", pts.bounds() if len(pts.xyz) else None)

    def show_splats(self, data: DrawData | None) -> None:
        """Draw a prepared model, replacing the previous one in place (the view stays)."""
        if data is None:
            self._set_bounds("splats", None)
            return
        self.splats.set_data(data)
        self._set_bounds("splats", data.arrays.bounds)

    def set_layer_visible(self, layer: str, visible: bool) -> None:
        """Show or hide "sparse" (points and frusta) or "splats" when they hold data."""
        self._layers_on[layer] = visible
        self._apply_visibility()

    def splat_counts(self) -> tuple[int, int]:
        """(splats in the image on screen, splats in the model)."""
        return self.splats.scheduler.drawn, self.splats.scheduler.total

    def clear(self) -> None:
        """Hide every layer and forget the loaded extents."""
        self._bounds.clear()
        self._fitted_model = False
        self.sparse_data = None
        self.splats.data = None
        self.set_measurement([])
        self._apply_visibility()

    def fit(self) -> None:
        """Home the camera on the model (else the sparse cloud) and go there."""
        if not self._bounds:
            return
        lo, hi = self._bounds.get("splats") or self._bounds["sparse"]
        self.camera.set_home((lo + hi) / 2.0, float(np.linalg.norm(hi - lo)) or 1.0)
        self.camera.reset()

    def look_through(self, index: int) -> None:
        """Take the pose and intrinsics of registered camera `index` of the sparse scene."""
        cam = self.sparse_data.cameras[index]
        self.camera.look_through(cam.viewmat, cam.K, (cam.width, cam.height))

    def render(self) -> np.ndarray:
        """The current frame as an (H, W, 4) uint8 array."""
        return self.canvas.render()

    # -- crop box and measurement overlays --------------------------------------------------------
    def bind_crop(self, box: CropBox) -> None:
        """Show, edit (handles) and apply this crop box."""
        self.crop = box
        box.subscribe(lambda b: self._crop_changed())
        self._crop_changed()

    def show_flags(self, flags: np.ndarray | None) -> None:
        """Highlight the flagged slots (what the floater filter would remove); None: none."""
        self.splats.highlight = flags is not None
        self.splats.set_flags(flags)

    def set_measurement(self, points: list[np.ndarray], label: str = "") -> None:
        """Mark picked points, joined by a line labelled `label`."""
        pts = np.array(points, np.float32).reshape(-1, 3)
        self.measure_marks.visible = len(pts) > 0
        self.measure_line.visible = self.measure_text.visible = len(pts) > 1
        if len(pts):
            self.measure_marks.set_data(pts, face_color=MEASURE_COLOR, edge_color="white",
                                        size=9)
        if len(pts) > 1:
            self.measure_line.set_data(pos=pts)
            self.measure_text.text = label
            self.measure_text.pos = pts[-2:].mean(axis=0)
        self.canvas.update()

    def _crop_changed(self) -> None:
        on = self.crop is not None and self.crop.enabled
        self.splats.set_crop(corners(self.crop) if on else None)
        self.crop_lines.visible = self.crop_handles.visible = on
        if on:
            points = self._box_corners()
            self.crop_lines.set_data(pos=points[np.array(BOX_EDGES).ravel()])
            self.crop_handles.set_data(self._handles()[0], face_color=CROP_COLOR,
                                       edge_color="white", size=HANDLE_PX)
        self.canvas.update()

    def _box_corners(self) -> np.ndarray:
        lo, hi = np.array(self.crop.minimum), np.array(self.crop.maximum)
        return np.array([[(lo, hi)[i & 1][0], (lo, hi)[(i >> 1) & 1][1], (lo, hi)[i >> 2][2]]
                         for i in range(8)], np.float32)

    def _handles(self) -> tuple[np.ndarray, list[tuple[int, int]]]:
        """Face centres of the crop box and their (axis, side)."""
        lo, hi = np.array(self.crop.minimum), np.array(self.crop.maximum)
        centre = (lo + hi) / 2
        points, faces = [], []
        for axis in range(3):
            for side, value in ((0, lo[axis]), (1, hi[axis])):
                p = centre.copy()
                p[axis] = value
                points.append(p)
                faces.append((axis, side))
        return np.array(points, np.float32), faces

    # -- mouse ----------------------------------------------------------------------------------
    def project(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) canvas pixel positions of world points (NaN behind the camera)."""
        w, h = self.camera.viewport
        clip = np.c_[np.asarray(points, float).reshape(-1, 3), np.ones(len(points))] @ \
            self.camera.mvp((w, h)).T
        with np.errstate(divide="ignore", invalid="ignore"):
            ndc = clip[:, :2] / clip[:, 3:4]
        px = np.c_[(ndc[:, 0] + 1) / 2 * w, (1 - ndc[:, 1]) / 2 * h]
        px[clip[:, 3] <= 0] = np.nan
        return px

    def ray(self, pos: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        """World (origin, direction) of the ray under a canvas pixel position."""
        return self.camera.pose.ray(self.camera.K(self.camera.viewport), pos[0], pos[1])

    def _mouse_press(self, event) -> None:
        pos = np.asarray(event.pos[:2], float)
        handle = None
        if self.crop is not None and self.crop.enabled and event.button == 1:
            points, faces = self._handles()
            dist = np.linalg.norm(self.project(points) - pos, axis=1)
            if np.nanmin(dist) <= HANDLE_PX:
                handle = faces[int(np.nanargmin(dist))]
                self.camera.interactive = False  # the drag moves the face, not the view
        self._press = (pos, handle)

    def _mouse_move(self, event) -> None:
        if self._press is None or self._press[1] is None or event.last_event is None:
            return
        axis, side = self._press[1]
        points, faces = self._handles()
        p = points[faces.index((axis, side))].astype(float)
        step = float(np.linalg.norm(np.subtract(self.crop.maximum, self.crop.minimum))) * 0.1 or 1.0
        tip = p.copy()
        tip[axis] += step
        screen = np.diff(self.project(np.stack([p, tip])), axis=0)[0]
        if not np.isfinite(screen).all() or screen @ screen < 1e-6:
            return
        delta = np.asarray(event.pos[:2], float) - np.asarray(event.last_event.pos[:2], float)
        self.crop.set_face(axis, side, p[axis] + (delta @ screen) / (screen @ screen) * step)

    def _mouse_release(self, event) -> None:
        press, self._press = self._press, None
        self.camera.interactive = True
        if press is None or press[1] is not None:
            return
        pos = np.asarray(event.pos[:2], float)
        if np.linalg.norm(pos - press[0]) > CLICK_PX or event.button != 1:
            return
        camera = self._camera_at(pos)
        if self.measuring and camera is not None:  # an apex snaps: distances between cameras
            self.on_click("point", self.sparse_data.centers[camera].astype(float))
        elif self.measuring:
            self.on_click("ray", self.ray(pos))
        elif camera is not None:
            self.on_click("camera", camera)

    def _camera_at(self, pos: np.ndarray) -> int | None:
        """The registered camera whose centre is drawn within CAMERA_PICK_PX of `pos`."""
        if self.sparse_data is None or not self.frusta.visible or not self.sparse_data.cameras:
            return None
        dist = np.linalg.norm(self.project(self.sparse_data.centers) - pos, axis=1)
        if np.isfinite(dist).any() and np.nanmin(dist) <= CAMERA_PICK_PX:
            return int(np.nanargmin(dist))
        return None

    # -- internals ------------------------------------------------------------------------------
    def _set_bounds(self, key: str, bounds: tuple[np.ndarray, np.ndarray] | None) -> None:
        first = not self._bounds
        if bounds is None:
            self._bounds.pop(key, None)
        else:
            self._bounds[key] = bounds
        self._apply_visibility()
        if (first or (key == "splats" and bounds is not None and not self._fitted_model)) \
                and self._bounds:
            self._fitted_model = "splats" in self._bounds
            self.fit()

    def _apply_visibility(self) -> None:
        sparse_on = self._layers_on["sparse"] and "sparse" in self._bounds
        self.sparse.visible = sparse_on and self.sparse_data is not None and \
            len(self.sparse_data.points.xyz) > 0
        self.frusta.visible = sparse_on and self.sparse_data is not None and \
            len(self.sparse_data.frusta) > 0
        self.splats.visible = self._layers_on["splats"] and "splats" in self._bounds
        self.canvas.update()
