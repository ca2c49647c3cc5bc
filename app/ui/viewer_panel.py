"""The 3D tab: the vispy scene with layer toggles, fed from the project's files."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout,
                               QWidget)

from app.pipeline.project import ProjectPaths


def sparse_model_ready(paths: ProjectPaths) -> bool:
    """True when the SfM hand-off model exists (a COLMAP binary model)."""
    return (paths.sfm_model / "points3D.bin").is_file()


def newest_file(candidates: Sequence[Path | None]) -> Path | None:
    """The most recently modified of the existing files, or None."""
    files = [p for p in candidates if p is not None and p.is_file()]
    return max(files, key=lambda p: p.stat().st_mtime_ns) if files else None


class ViewerPanel(QWidget):
    """Sparse SfM cloud with camera frusta, and the latest splat preview, in one scene."""

    def __init__(self, with_canvas: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scene = None
        self.status = QLabel("nothing loaded")
        self.status.setObjectName("viewerStatus")
        self.show_sparse = QCheckBox("Sparse cloud + cameras")
        self.show_splats = QCheckBox("Splats")
        fit = QPushButton("Fit view")
        for box in (self.show_sparse, self.show_splats):
            box.setChecked(True)
        bar = QHBoxLayout()
        for w in (self.show_sparse, self.show_splats, fit):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.status)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        self.loaded: dict[str, Path] = {}
        self._parts: dict[str, str] = {}
        self._toggles = {"sparse": self.show_sparse, "splats": self.show_splats}
        if with_canvas:
            from app.viewer.canvas import SceneView

            self.scene = SceneView(parent=self)
            layout.addWidget(self.scene.native, 1)
            self.show_sparse.toggled.connect(lambda on: self.scene.set_layer_visible("sparse", on))
            self.show_splats.toggled.connect(lambda on: self.scene.set_layer_visible("splats", on))
            fit.clicked.connect(self.scene.fit)
        else:
            placeholder = QLabel("The 3D view needs OpenGL (an X display); charts and logs work.")
            placeholder.setWordWrap(True)
            layout.addWidget(placeholder, 1)
            fit.setEnabled(False)

    def show_project(self, paths: ProjectPaths, preview: Path | None, sparse: bool) -> None:
        """Load the SfM model (when `sparse`) and the newest of the preview and final splats."""
        if sparse and sparse_model_ready(paths):
            self.load_sparse(paths.sfm_model)
        ply = newest_file([preview, paths.splats_ply])
        if ply is not None and ply != self.loaded.get("splats"):
            self.load_splats(ply)

    def load_sparse(self, model_dir: Path) -> None:
        """Show a COLMAP model's points and camera frusta."""
        from app.viewer.scene_data import load_sparse

        sparse = load_sparse(model_dir)
        self._show("sparse", model_dir, sparse,
                   f"{len(sparse.points.xyz):,} points, {len(sparse.centers)} cameras")

    def load_splats(self, ply: Path) -> None:
        """Show a splat PLY (a training preview or the final splats)."""
        from app.viewer.scene_data import load_splats

        cloud = load_splats(ply)
        self._show("splats", ply, cloud, f"{len(cloud.xyz):,} splats from {ply.name}")

    def _show(self, layer: str, path: Path, data: object, text: str) -> None:
        self.loaded[layer] = path
        if self.scene is not None:
            getattr(self.scene, f"show_{layer}")(data)
            self.scene.set_layer_visible(layer, self._toggles[layer].isChecked())
        self._parts[layer] = text
        self.status.setText(" | ".join(self._parts.values()))

    def clear(self) -> None:
        """Forget what was loaded (another project is opened)."""
        self.loaded.clear()
        self._parts.clear()
        self.status.setText("nothing loaded")
        if self.scene is not None:
            self.scene.clear()
