"""Reading OpenSfM's `export_colmap` output and repairing its known quirks.

Hand-written text parsing because pycolmap refuses to load these files at all (track indices
out of range). Quirks, as seen in the fixtures (../shared/fixtures/opensfm_*/README.md):
1. track elements use OpenSfM's original feature id, while POINTS2D lists only the features with
   a 3D point (ascending id) -> re-index each id by its rank among the image's distinct ids;
2. keypoints sit half a pixel off COLMAP's pixel-centre convention -> +0.5 when it lowers the
   reprojection error;
3. every POINT3D error is 0 -> recomputed.
A model whose correspondences cannot be made consistent raises StageError: never handed on.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pycolmap

from ..errors import StageError

HALF_PIXEL = 0.5


@dataclass
class TextImage:
    """One image of images.txt: its header fields and POINTS2D."""

    image_id: int
    header: list[str]  # QW QX QY QZ TX TY TZ CAMERA_ID NAME
    xy: np.ndarray  # (N,2)
    point3d_ids: np.ndarray  # (N,) int64, -1 for none

    @property
    def name(self) -> str:
        """Image file name."""
        return self.header[-1]


@dataclass
class TextPoint:
    """One point of points3D.txt."""

    xyz_rgb: list[str]  # X Y Z R G B
    error: float
    track: list[tuple[int, int]]  # (image_id, point2D index)


@dataclass
class ColmapText:
    """A COLMAP text model held as parsed rows (so it can be repaired before pycolmap sees it)."""

    cameras: list[str]
    images: dict[int, TextImage]
    points: dict[int, TextPoint]


@dataclass
class RepairReport:
    """What was detected and repaired, with the figures that prove it."""

    track_elements: int = 0
    out_of_range: int = 0
    inconsistent_before: int = 0
    reindexed: bool = False
    zero_errors: bool = False
    half_pixel_shift: bool = False
    error_without_shift_px: float = 0.0
    error_with_shift_px: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for stats.json."""
        return dict(vars(self))


def _lines(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text().splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


def read_text_model(folder: Path) -> ColmapText:
    """Parse cameras.txt, images.txt and points3D.txt (StageError when unreadable)."""
    try:
        cameras = _lines(folder / "cameras.txt")
        rows = _lines_keep_empty(folder / "images.txt")
        images: dict[int, TextImage] = {}
        for head, pts in zip(rows[0::2], rows[1::2]):
            fields = head.split()
            values = np.array(pts.split(), dtype=np.float64).reshape(-1, 3)
            images[int(fields[0])] = TextImage(int(fields[0]), fields[1:], values[:, :2],
                                               values[:, 2].astype(np.int64))
        points: dict[int, TextPoint] = {}
        for row in _lines(folder / "points3D.txt"):
            f = row.split()
            track = [int(v) for v in f[8:]]
            points[int(f[0])] = TextPoint(f[1:7], float(f[7]), list(zip(track[0::2], track[1::2])))
    except (OSError, ValueError, IndexError) as exc:
        raise StageError(f"The COLMAP export in {folder} is unreadable: {exc}",
                         hint="rerun `opensfm export_colmap DATASET`", path=folder) from exc
    return ColmapText(cameras, images, points)


def _lines_keep_empty(path: Path) -> list[str]:
    # images.txt has two lines per image; the POINTS2D line may be empty, so keep empties
    rows = [ln.rstrip("\n") for ln in path.read_text().splitlines()
            if not ln.lstrip().startswith("#")]
    while rows and not rows[-1].strip():
        rows.pop()
    return rows


def count_inconsistent(model: ColmapText) -> tuple[int, int, int]:
    """(track elements, out of range, not pointing back to their point)."""
    total = out = bad = 0
    for pid, point in model.points.items():
        for image_id, idx in point.track:
            total += 1
            image = model.images.get(image_id)
            if image is None or idx >= len(image.point3d_ids):
                out += 1
                bad += 1
            elif image.point3d_ids[idx] != pid:
                bad += 1
    return total, out, bad


def reindex_tracks(model: ColmapText) -> None:
    """Replace each track's feature id by its rank among the image's distinct ids (quirk 1)."""
    ids: dict[int, set[int]] = {}
    for point in model.points.values():
        for image_id, idx in point.track:
            ids.setdefault(image_id, set()).add(idx)
    rank = {image_id: {fid: r for r, fid in enumerate(sorted(fids))}
            for image_id, fids in ids.items()}
    for image_id, fids in ids.items():
        n = len(model.images[image_id].point3d_ids) if image_id in model.images else -1
        if len(fids) != n:
            raise StageError(
                f"OpenSfM export: image {image_id} has {len(fids)} distinct track feature ids "
                f"but {n} POINTS2D entries, so its correspondences cannot be rebuilt",
                hint="re-export with `opensfm export_colmap`, or run the pycolmap backend")
    for point in model.points.values():
        point.track = [(image_id, rank[image_id][idx]) for image_id, idx in point.track]


def write_text_model(model: ColmapText, folder: Path, shift: float = 0.0) -> None:
    """Write the model as COLMAP text (keypoints shifted by `shift` pixels)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cameras.txt").write_text("\n".join(model.cameras) + "\n")
    out = []
    for image in model.images.values():
        out.append(" ".join([str(image.image_id), *image.header]))
        xy = image.xy + shift
        out.append(" ".join(f"{x:.6f} {y:.6f} {p}" for (x, y), p in zip(xy, image.point3d_ids)))
    (folder / "images.txt").write_text("\n".join(out) + "\n")
    rows = [" ".join([str(pid), *p.xyz_rgb, f"{p.error:.6f}",
                      *(f"{i} {j}" for i, j in p.track)]) for pid, p in model.points.items()]
    (folder / "points3D.txt").write_text("\n".join(rows) + "\n")


def _load(model: ColmapText, shift: float) -> pycolmap.Reconstruction:
    with tempfile.TemporaryDirectory(prefix="opensfm-export-") as tmp:
        write_text_model(model, Path(tmp), shift)
        rec = pycolmap.Reconstruction(tmp)
    rec.update_point_3d_errors()
    return rec


def read_opensfm_export(folder: Path) -> tuple[pycolmap.Reconstruction, RepairReport]:
    """Load an OpenSfM `colmap_export/` folder, detecting and repairing each quirk."""
    folder = Path(folder)
    if not (folder / "images.txt").exists():
        raise StageError(f"No COLMAP text export in {folder}",
                         hint="run `opensfm export_colmap DATASET` (text, not --binary)",
                         path=folder)
    model = read_text_model(folder)
    report = RepairReport()
    report.track_elements, report.out_of_range, report.inconsistent_before = \
        count_inconsistent(model)
    if report.inconsistent_before:
        reindex_tracks(model)
        report.reindexed = True
        report.notes.append(f"{report.inconsistent_before}/{report.track_elements} track "
                            f"elements did not point back to their 3D point "
                            f"({report.out_of_range} out of range): re-indexed by feature rank")
    _, _, still_bad = count_inconsistent(model)
    if still_bad:
        raise StageError(f"OpenSfM export in {folder}: {still_bad} track elements are still "
                         "inconsistent after re-indexing; the model is not handed on",
                         hint="re-export with `opensfm export_colmap`, or run the pycolmap "
                              "backend", path=folder)
    report.zero_errors = bool(model.points) and all(p.error == 0.0 for p in model.points.values())
    if report.zero_errors:
        report.notes.append("every point error was 0: recomputed from the observations")
    plain = _load(model, 0.0)
    shifted = _load(model, HALF_PIXEL)
    report.error_without_shift_px = float(plain.compute_mean_reprojection_error())
    report.error_with_shift_px = float(shifted.compute_mean_reprojection_error())
    report.half_pixel_shift = report.error_with_shift_px < report.error_without_shift_px
    if report.half_pixel_shift:
        report.notes.append(f"keypoints were half a pixel off COLMAP's convention: +0.5 px "
                            f"lowers the mean error from {report.error_without_shift_px:.3f} "
                            f"to {report.error_with_shift_px:.3f} px")
    return (shifted if report.half_pixel_shift else plain), report
