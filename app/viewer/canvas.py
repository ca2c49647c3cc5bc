"""The vispy scene: sparse cloud, camera frusta and a splat preview drawn as scaled discs."""

from __future__ import annotations

import numpy as np
from vispy import app as vispy_app
from vispy import scene
from vispy.scene import visuals

from .scene_data import PointCloud, SparseScene

BACKGROUND = "#101216"
FRUSTUM_COLOR = (1.0, 0.78, 0.25, 0.9)


class SceneView:
    """A SceneCanvas with a turntable camera; `native` is the Qt widget to embed."""

    def __init__(self, parent: object | None = None, size: tuple[int, int] = (800, 600)) -> None:
        vispy_app.use_app("pyside6")
        self.canvas = scene.SceneCanvas(keys="interactive", bgcolor=BACKGROUND, size=size,
                                        parent=parent, show=False)
        self.view = self.canvas.central_widget.add_view()
        self.view.camera = scene.TurntableCamera(fov=45.0, elevation=35.0, azimuth=30.0, up="+z")
        self.sparse = visuals.Markers(parent=self.view.scene)
        self.frusta = visuals.Line(connect="segments", color=FRUSTUM_COLOR, width=1.5,
                                   parent=self.view.scene)
        self.splats = visuals.Markers(scaling="scene", parent=self.view.scene)
        self.splats.set_gl_state("translucent", depth_test=True)
        self.axes = visuals.XYZAxis(parent=self.view.scene)
        for layer in (self.sparse, self.frusta, self.splats):
            layer.visible = False
        self._bounds: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def native(self) -> object:
        """The backend widget (a QWidget under PySide6)."""
        return self.canvas.native

    def show_sparse(self, sparse: SparseScene) -> None:
        """Draw the SfM points in their colours and the camera frusta."""
        pts = sparse.points
        self._markers(self.sparse, pts, size=3.0)
        self.frusta.visible = len(sparse.frusta) > 0
        if self.frusta.visible:
            self.frusta.set_data(pos=sparse.frusta, color=FRUSTUM_COLOR)
        stack = np.concatenate([pts.xyz, sparse.centers]) if len(sparse.centers) else pts.xyz
        self._set_bounds("sparse", PointCloud(stack, pts.rgba[:0], pts.size[:0]))

    def show_splats(self, cloud: PointCloud) -> None:
        """Draw splat centres as discs sized by their scale and blended by their opacity."""
        self._markers(self.splats, cloud, size=cloud.size)
        self._set_bounds("splats", cloud)

    def set_layer_visible(self, layer: str, visible: bool) -> None:
        """Show or hide "sparse" (points and frusta) or "splats" when they hold data."""
        if layer == "sparse":
            self.sparse.visible = visible and "sparse" in self._bounds
            self.frusta.visible = self.sparse.visible
        else:
            self.splats.visible = visible and "splats" in self._bounds
        self.canvas.update()

    def clear(self) -> None:
        """Hide every layer and forget the loaded extents."""
        for layer in (self.sparse, self.frusta, self.splats):
            layer.visible = False
        self._bounds.clear()
        self.canvas.update()

    def fit(self) -> None:
        """Point the camera at everything loaded."""
        if not self._bounds:
            return
        lo = np.min([b[0] for b in self._bounds.values()], axis=0)
        hi = np.max([b[1] for b in self._bounds.values()], axis=0)
        cam = self.view.camera
        cam.center = tuple((lo + hi) / 2.0)
        cam.distance = float(np.linalg.norm(hi - lo)) * 1.1 or 1.0
        self.axes.transform = scene.transforms.STTransform(
            translate=tuple(lo), scale=(float(np.max(hi - lo)) * 0.1 or 1.0,) * 3)
        self.canvas.update()

    def render(self) -> np.ndarray:
        """The current frame as an (H, W, 4) uint8 array."""
        return self.canvas.render()

    def _markers(self, layer: visuals.Markers, cloud: PointCloud, size: float | np.ndarray) -> None:
        layer.visible = len(cloud.xyz) > 0
        if layer.visible:
            layer.set_data(cloud.xyz, face_color=cloud.rgba, edge_width=0, size=size)
        self.canvas.update()

    def _set_bounds(self, key: str, cloud: PointCloud) -> None:
        if len(cloud.xyz):
            self._bounds[key] = cloud.bounds()
        else:
            self._bounds.pop(key, None)
        self.fit()
