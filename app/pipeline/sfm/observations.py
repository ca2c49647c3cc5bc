"""A model's 2D-3D correspondences as arrays, read once: per-image reprojection errors and the
check that every track points back to its 3D point, without a Python call per observation
into pycolmap for the arithmetic (a 75-image model holds half a million observations)."""

from __future__ import annotations

import numpy as np
import pycolmap

INVALID = np.uint64(pycolmap.INVALID_POINT3D_ID)


def point_ids(image: pycolmap.Image) -> np.ndarray:
    """(N,) uint64: the 3D point of each of the image's keypoints (INVALID where none)."""
    return np.fromiter((p.point3D_id for p in image.points2D), dtype=np.uint64,
                       count=image.num_points2D())


def _xyz_table(rec: pycolmap.Reconstruction) -> tuple[np.ndarray, np.ndarray]:
    """Sorted 3D point ids and their positions, for lookups by id."""
    ids = np.fromiter(rec.points3D.keys(), dtype=np.uint64, count=rec.num_points3D())
    order = np.argsort(ids)
    xyz = np.array([rec.points3D[int(i)].xyz for i in ids[order]]).reshape(-1, 3)
    return ids[order], xyz


def image_errors(rec: pycolmap.Reconstruction) -> dict[str, dict[str, float]]:
    """Per registered image: 2D-3D correspondences and mean reprojection error (pixels)."""
    ids, xyz = _xyz_table(rec)
    out: dict[str, dict[str, float]] = {}
    for image in rec.images.values():
        if not image.has_pose:
            continue
        pids = point_ids(image)
        seen = np.flatnonzero(pids != INVALID)
        if not len(seen):
            out[image.name] = {"observations": 0, "mean_error_px": float("nan")}
            continue
        xy = np.array([image.points2D[int(i)].xy for i in seen])
        world = xyz[np.searchsorted(ids, pids[seen])]
        cam = (image.cam_from_world().matrix() @ np.c_[world, np.ones(len(world))].T).T
        proj = image.camera.img_from_cam(cam, check_cheirality=False)
        err = np.linalg.norm(proj - xy, axis=1)
        out[image.name] = {"observations": int(len(seen)),
                           "mean_error_px": float(np.nanmean(err))}
    return out


def inconsistent_tracks(rec: pycolmap.Reconstruction) -> int:
    """Track elements that do not point back to their 3D point (missing image, keypoint out
    of range, or a keypoint tied to another point)."""
    sides = {image_id: point_ids(image) for image_id, image in rec.images.items()}
    bad = 0
    for pid, point in rec.points3D.items():
        for el in point.track.elements:
            ids = sides.get(el.image_id)
            if ids is None or el.point2D_idx >= len(ids) or ids[el.point2D_idx] != pid:
                bad += 1
    return bad
