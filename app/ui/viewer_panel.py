"""The 3D tab: the splat viewer with its cameras, measurements and crop box.

Every file is read in the window's background pool (models, the sparse model, photos), and the
splat sorts run there too; the UI thread only uploads prepared arrays and draws.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel,
                               QPushButton, QSizePolicy, QSplitter, QTabWidget, QVBoxLayout,
                               QWidget)

from app.pipeline.errors import SpaceportError
from app.pipeline.formats.model import MODEL_SUFFIXES
from app.pipeline.project import ProjectPaths
from app.viewer.crop import CropBox, corners, export_crop
from app.viewer.measure import Georef

from .camera_list import CameraList, ComparePanel, image_statuses, load_photo
from .crop_panel import CropPanel
from .measure_panel import MeasurePanel
from .pool import BackgroundPool
from .viewer_jobs import export_cropped, floater_flags, load_draw_data, load_sparse_scene

SOURCES = {"Latest from training": None, "Trained splats (train/splats.ply)": "splats_ply",
           "Compressed (compress/scene.sog)": "scene_sog"}  # name -> ProjectPaths attribute
PREVIEW_INTERVAL_S = 2.0  # training snapshots replace the splats at most this often
MODEL_FILTER = "Splat models (*.ply *.splat *.spz *.sog meta.json);;All files (*)"


def sparse_model_ready(paths: ProjectPaths) -> bool:
    """True when the SfM hand-off model exists (a COLMAP binary model)."""
    return (paths.sfm_model / "points3D.bin").is_file()


def newest_file(candidates: Sequence[Path | None]) -> Path | None:
    """The most recently modified of the existing files, or None."""
    files = [p for p in candidates if p is not None and p.is_file()]
    return max(files, key=lambda p: p.stat().st_mtime_ns) if files else None


def is_model_file(path: Path) -> bool:
    """True for names the model reader opens (a SOG folder counts)."""
    return path.is_dir() or path.name.lower().endswith(MODEL_SUFFIXES)


class ViewerPanel(QWidget):
    """Splats, sparse cloud and cameras in one scene, with the tools to inspect them."""

    def __init__(self, with_canvas: bool = True, pool: BackgroundPool | None = None,
                 crop: CropBox | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pool = pool or BackgroundPool(parent=self)
        self.crop = crop or CropBox()
        self.scene = None
        self.paths: ProjectPaths | None = None
        self.loaded: dict[str, Path] = {}
        self.model_text = ""
        self.user_model = False  # a file the operator opened: previews no longer replace it
        self.arrays = None
        self.georef = Georef()
        self._queued: Path | None = None
        self._last_model_load = -np.inf
        self._compare_view: bytes | None = None
        self.sparse_text = ""
        self.status = QLabel("nothing loaded")
        self.status.setObjectName("viewerStatus")
        # one line whatever it says: a growing label would shrink (and redraw) the 3D view
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.show_sparse = QCheckBox("Sparse cloud + cameras")
        self.show_splats = QCheckBox("Splats")
        for box in (self.show_sparse, self.show_splats):
            box.setChecked(True)
        self.source = QComboBox()
        self.source.setObjectName("modelSource")
        self.source.setToolTip("Which splats to show: the newest of training (snapshots while it "
                               "runs), the trained PLY, the compressed SOG, or a file you opened")
        self.source.addItems(list(SOURCES))
        open_button = QPushButton("Open model…")
        reset = QPushButton("Reset view")
        reset.setToolTip("Left drag orbits, right or shift drag pans, the wheel zooms; "
                         "W A S D Q E fly, R resets")
        shot = QPushButton("Screenshot…")
        bar = QHBoxLayout()
        for w in (self.show_sparse, self.show_splats, self.source, open_button, reset, shot):
            bar.addWidget(w)
        bar.addStretch(1)
        self.cameras = CameraList()
        self.compare = ComparePanel()
        self.measure = MeasurePanel()
        self.crop_panel = CropPanel(self.crop, fit=self.fit_crop)
        camera_tab = QSplitter(Qt.Orientation.Vertical)
        camera_tab.addWidget(self.cameras)
        camera_tab.addWidget(self.compare)
        camera_tab.setSizes([220, 380])
        self.side = QTabWidget()
        self.side.addTab(camera_tab, "Cameras")
        self.side.addTab(self.measure, "Measure")
        self.side.addTab(self.crop_panel, "Crop")
        split = QSplitter(Qt.Orientation.Horizontal)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)
        if with_canvas:
            from app.viewer.canvas import SceneView

            self.scene = SceneView(parent=self, submit=self._submit)
            split.addWidget(self.scene.native)
            self.scene.bind_crop(self.crop)
            self.scene.on_click = self._clicked
            self.scene.canvas.events.draw.connect(lambda event: self._after_draw(), position="last")
            self.show_sparse.toggled.connect(lambda on: self.scene.set_layer_visible("sparse", on))
            self.show_splats.toggled.connect(lambda on: self.scene.set_layer_visible("splats", on))
            reset.clicked.connect(self.scene.fit)
            # PyOpenGL (the instanced draw path) takes a second to import: not at the first frame
            self.pool.submit(lambda task: importlib.import_module("OpenGL.GL"),
                             failed=lambda exc: None)
        else:
            placeholder = QLabel("The 3D view needs OpenGL (an X display); charts and logs work.")
            placeholder.setWordWrap(True)
            split.addWidget(placeholder)
            for w in (reset, shot):
                w.setEnabled(False)
        split.addWidget(self.side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([900, 320])
        open_button.clicked.connect(self.choose_model)
        self.source.activated.connect(lambda i: self.show_source(self.source.itemText(i)))
        shot.clicked.connect(self.choose_screenshot)
        self.cameras.chosen.connect(self.look_through)
        self.measure.toggle.toggled.connect(self._measure_mode)
        self.crop_panel.floaters.toggled.connect(self._floaters)
        self.crop_panel.export_button.clicked.connect(self.choose_export)
        self.setAcceptDrops(True)
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.timeout.connect(self._load_queued)

    # -- projects -------------------------------------------------------------------------------
    def show_project(self, paths: ProjectPaths, preview: Path | None, sparse: bool) -> None:
        """Load the SfM model (when `sparse`) and the newest of the preview and final splats."""
        self.paths = paths
        if sparse and sparse_model_ready(paths):
            self.load_sparse(paths.sfm_model)
        if self.user_model:
            return
        ply = newest_file([preview, paths.splats_ply])
        if ply is not None and ply != self.loaded.get("splats") and ply != self._queued:
            self._queue_model(ply)

    def show_source(self, name: str) -> None:
        """Show the project's model `name` (a key of SOURCES)."""
        if self.paths is None:
            return
        attribute = SOURCES.get(name, "")
        if attribute == "":
            return  # the file already open
        if attribute is None:
            self.user_model = False
            latest = newest_file([self.paths.splats_ply, *self.paths.previews.glob("*.ply")])
            if latest is not None:
                self.open_model(latest, user=False)
            return
        path = getattr(self.paths, attribute)
        if path.exists():
            self.open_model(path)
        else:
            self._set_status(f"{path} does not exist yet: run the stage that writes it")

    def load_sparse(self, model_dir: Path) -> None:
        """Show a COLMAP model's points and frusta, and list the cameras (read in the pool)."""
        paths = self.paths
        self.loaded["sparse"] = model_dir
        self.pool.submit(lambda task: load_sparse_scene(model_dir, paths), key="viewer-sparse",
                         done=self._sparse_loaded, failed=self._failed)

    def open_model(self, path: Path, user: bool = True) -> None:
        """Read any splat model in the pool and show it; `user`: chosen by the operator."""
        path = Path(path)
        self.user_model = self.user_model or user
        if user:
            self._sync_source(path)
        self._queued = None
        self._preview_timer.stop()
        self._set_status(f"reading {path.name}…")
        self.pool.submit(lambda task: load_draw_data(path, task), key="viewer-model",
                         done=lambda result: self._model_loaded(path, result),
                         failed=self._failed,
                         progress=lambda f, m: self._set_status(f"{m} {100 * f:.0f} %"))
        self._last_model_load = time.monotonic()
        self.loaded["splats"] = path

    def clear(self) -> None:
        """Forget what was loaded (another project is opened)."""
        self.loaded.clear()
        self.paths, self.arrays, self.user_model, self._queued = None, None, False, None
        self.source.setCurrentIndex(0)
        while self.source.count() > len(SOURCES):
            self.source.removeItem(len(SOURCES))
        self.model_text = self.sparse_text = ""
        self.georef = Georef()
        self.cameras.show_statuses([])
        self.compare.clear()
        self.measure.clear()
        self.status.setText("nothing loaded")
        if self.scene is not None:
            self.scene.clear()

    # -- operator actions -----------------------------------------------------------------------
    def choose_model(self) -> None:
        """File > Open model…"""
        start = str(self.paths.root) if self.paths else ""
        name, _ = QFileDialog.getOpenFileName(self, "Open a splat model", start, MODEL_FILTER)
        if name:
            self.open_model(Path(name))

    def choose_screenshot(self) -> None:
        """Save the view as a PNG, asking where."""
        name, _ = QFileDialog.getSaveFileName(self, "Save the view as PNG", "view.png",
                                              "PNG images (*.png)")
        if name:
            self.save_screenshot(Path(name))

    def save_screenshot(self, path: Path) -> None:
        """Save the current view as a PNG."""
        from PIL import Image

        Image.fromarray(self.scene.render()[..., :3]).save(path)
        self._set_status(f"saved {path}")

    def look_through(self, name: str) -> None:
        """View through registered camera `name` and compare its photo with the render."""
        sparse = self.scene.sparse_data if self.scene else None
        names = [c.name for c in sparse.cameras] if sparse else []
        if name not in names:
            return
        self.scene.look_through(names.index(name))
        self.cameras.select(name)
        self.side.setCurrentIndex(0)
        self.compare.set_photo(name, None)
        self._compare_view = None
        photo = self.paths.sfm_images / name if self.paths else None
        if photo is not None and photo.is_file():
            self.pool.submit(lambda task: load_photo(photo), key="viewer-photo",
                             done=lambda image: self._photo_loaded(name, image),
                             failed=self._failed)

    def fit_crop(self) -> None:
        """Put the crop box around the model (or the sparse cloud) and switch it on."""
        bounds = self.arrays.bounds if self.arrays is not None else None
        if bounds is None and self.scene is not None and self.scene.sparse_data is not None:
            bounds = self.scene.sparse_data.points.bounds()
        if bounds is not None:
            lo, hi = (np.asarray(b, float) for b in bounds)
            self.crop.fit(lo, hi, margin=0.05 * float(np.max(hi - lo)))
            self.crop.set(enabled=True)

    def choose_export(self) -> None:
        """'Export cropped…': ask for a file, export the project's splats inside the box."""
        if self.paths is None:
            return
        name, _ = QFileDialog.getSaveFileName(
            self, "Export the splats inside the crop box", str(self.paths.exports / "cropped.sog"),
            "SOG (*.sog);;PLY (*.ply);;splat (*.splat);;spz (*.spz);;"
            "Compressed PLY (*.compressed.ply)")
        if name:
            self.export(Path(name))

    def export(self, out: Path) -> None:
        """Export the project's trained splats to `out` (format from its name) with the box."""
        root, box = self.paths.root, export_crop(self.crop)
        self.crop_panel.export_text.setText(f"exporting to {out.name}…")
        self.pool.submit(lambda task: export_cropped(root, out, box, task), key="viewer-export",
                         done=lambda report: self.crop_panel.export_text.setText(
                             f"exported {report['splats']['written']:,} splats to {out} "
                             f"({report['bytes'] / 1e6:.1f} MB)"),
                         failed=lambda exc: self.crop_panel.export_text.setText(
                             f"export failed: {getattr(exc, 'message', exc)}"),
                         progress=lambda f, m: self.crop_panel.export_text.setText(
                             f"{m} {100 * f:.0f} %"))

    # -- drag and drop --------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Accept model files dragged over the tab."""
        if any(is_model_file(Path(u.toLocalFile())) for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Open the first model file dropped."""
        for url in event.mimeData().urls():
            path = Path(url.toLocalFile())
            if is_model_file(path):
                self.open_model(path)
                event.acceptProposedAction()
                return

    # -- results from the pool ------------------------------------------------------------------
    def _sparse_loaded(self, result: dict[str, Any]) -> None:
        sparse = result["scene"]
        self.georef = Georef.from_geo_json(result["geo"])
        self.measure.georef = self.georef
        self.measure.clear()
        self.cameras.show_statuses(image_statuses(result["stats"],
                                                  [c.name for c in sparse.cameras]))
        if self.scene is not None:
            self.scene.show_sparse(sparse)
            self.scene.set_layer_visible("sparse", self.show_sparse.isChecked())
        self.sparse_text = f"{len(sparse.points.xyz):,} points, {len(sparse.cameras)} cameras"
        self._update_status()

    def _model_loaded(self, path: Path, result: tuple[Any, Any]) -> None:
        loaded, data = result
        self.arrays = data.arrays
        in_project = self.paths is not None and self.paths.root in path.resolve().parents
        frame = loaded.frame.describe() if (loaded.frame.has_sidecar or not in_project) \
            else "in the project's frame"
        self.model_text = f"{loaded.describe()}; {frame}"
        self.measure.frame_note = "" if (in_project or loaded.frame.has_sidecar) else \
            "This model has no .georef.json: measurements are in its own frame."
        if self.scene is not None:
            self.scene.show_splats(data)
            self.scene.set_layer_visible("splats", self.show_splats.isChecked())
        if self.crop_panel.floaters.isChecked():
            self._floaters(True)
        self._update_status()
        if self._queued is not None:
            self._preview_timer.start(int(PREVIEW_INTERVAL_S * 1000))

    def _photo_loaded(self, name: str, image: np.ndarray) -> None:
        self.compare.set_photo(name, image)
        self._compare_view = None
        if self.scene is not None:
            self.scene.canvas.update()

    def _failed(self, exc: BaseException) -> None:
        text = exc.render() if isinstance(exc, SpaceportError) else f"{type(exc).__name__}: {exc}"
        self._set_status(f"error: {text}")

    # -- internals ------------------------------------------------------------------------------
    def _submit(self, fn, done) -> None:
        """The splat visual's sorts, in the pool; a failure reaches `done` as the exception."""
        self.pool.submit(lambda task: fn(), done=done, failed=done)

    def _sync_source(self, path: Path) -> None:
        """Select the source entry naming `path` (an 'Opened: NAME' entry for other files)."""
        for i, attribute in enumerate(SOURCES.values()):
            if attribute and self.paths is not None and getattr(self.paths, attribute) == path:
                self.source.setCurrentIndex(i)
                return
        while self.source.count() > len(SOURCES):
            self.source.removeItem(len(SOURCES))
        self.source.addItem(f"Opened: {path.name}")
        self.source.setCurrentIndex(len(SOURCES))

    def _queue_model(self, path: Path) -> None:
        """Load a training snapshot now, or after the current load and the throttle interval."""
        wait = PREVIEW_INTERVAL_S - (time.monotonic() - self._last_model_load)
        if self.pool.busy("viewer-model") or wait > 0:
            self._queued = path
            if not self.pool.busy("viewer-model"):
                self._preview_timer.start(int(max(wait, 0) * 1000))
            return
        self.open_model(path, user=False)

    def _load_queued(self) -> None:
        path, self._queued = self._queued, None
        if path is not None and not self.user_model:
            self.open_model(path, user=False)

    def _clicked(self, kind: str, payload: Any) -> None:
        if kind == "camera":
            self.look_through(self.scene.sparse_data.cameras[payload].name)
        elif kind == "point":
            self._picked(payload)
        elif kind == "ray" and self.arrays is not None:
            from app.viewer.picking import pick

            arrays, (origin, direction) = self.arrays, payload
            crop = corners(self.crop)
            self.pool.submit(lambda task: pick(arrays, origin, direction, crop), key="viewer-pick",
                             done=self._picked, failed=self._failed)

    def _picked(self, point: np.ndarray | None) -> None:
        self.measure.add_point(point)
        self.scene.set_measurement(self.measure.points, self.measure.distance_label())

    def _measure_mode(self, on: bool) -> None:
        if self.scene is not None:
            self.scene.measuring = on
        if not on and self.scene is not None:
            self.scene.set_measurement([])
        if not on:
            self.measure.clear()

    def _floaters(self, on: bool) -> None:
        if self.scene is None or self.arrays is None:
            return
        if not on:
            self.scene.show_flags(None)
            self.crop_panel.floater_text.setText("")
            return
        arrays = self.arrays
        box = corners(self.crop)
        self.crop_panel.floater_text.setText("finding floaters…")

        def shown(flags: np.ndarray) -> None:
            if arrays is self.arrays and self.crop_panel.floaters.isChecked():
                self.scene.show_flags(flags)
                self.crop_panel.floater_text.setText(
                    f"{int(flags.sum()):,} of {len(flags):,} splats would be removed (magenta)")

        self.pool.submit(lambda task: floater_flags(arrays, box), key="viewer-floaters",
                         done=shown, failed=self._failed)

    def _after_draw(self) -> None:
        self._update_status()
        scheduler = self.scene.splats.scheduler
        if self.compare.photo is not None and scheduler.complete and \
                self._compare_view != self.scene.camera.pose.viewmat.tobytes():
            self._compare_view = self.scene.camera.pose.viewmat.tobytes()
            QTimer.singleShot(0, self._grab_compare)

    def _grab_compare(self) -> None:
        """The full-model render of the chosen camera's view, cropped to its photo."""
        from app.viewer.pose import fit_intrinsics

        cam = self.scene.camera
        if cam.intrinsics is None:
            return
        K, (w, h) = cam.intrinsics
        vw, vh = cam.viewport
        fitted = fit_intrinsics(K, (w, h), (vw, vh))
        s = fitted[0, 0] / K[0, 0]
        x0, y0 = fitted[0, 2] - s * K[0, 2], fitted[1, 2] - s * K[1, 2]
        sparse_on = self.scene.sparse.visible, self.scene.frusta.visible
        self.scene.sparse.visible = self.scene.frusta.visible = False
        try:
            image = self.scene.canvas.render(bgcolor=(0, 0, 0, 1))
        finally:
            self.scene.sparse.visible, self.scene.frusta.visible = sparse_on
        scale = image.shape[1] / vw  # physical pixels per logical
        x0, y0 = int(round(x0 * scale)), int(round(y0 * scale))
        cw, ch = int(round(s * w * scale)), int(round(s * h * scale))
        self.compare.set_render(image[y0:y0 + ch, x0:x0 + cw, :3])

    def _update_status(self) -> None:
        parts = []
        if self.scene is not None and self.arrays is not None:
            drawn, total = self.scene.splat_counts()
            state = " (refining)" if self.scene.splats.scheduler.refining else ""
            parts.append(f"{drawn:,} of {total:,} splats drawn{state}")
        if self.model_text:
            parts.append(self.model_text)
        if self.sparse_text:
            parts.append(self.sparse_text)
        text = " | ".join(parts) or "nothing loaded"
        if text != self.status.text():
            self.status.setText(text)
            self.status.setToolTip(text)

    def _set_status(self, text: str) -> None:
        self.status.setText(text)

