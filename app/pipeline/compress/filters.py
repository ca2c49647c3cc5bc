"""Export-time selections: crop box and floater filter (masks over splats)."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..formats.splats import Splats

FLOATER_NEIGHBOURS = 8
FLOATER_STD_RATIO = 3.0
MIN_ALPHA = 1.0 / 255


def parse_box(text: str) -> tuple[float, ...]:
    """'xmin,ymin,zmin,xmax,ymax,zmax' -> six floats; InputError when malformed or inverted."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 6 or any(values[i] > values[i + 3] for i in range(3)):
        raise InputError(f"--crop expects xmin,ymin,zmin,xmax,ymax,zmax with min <= max, got {text!r}",
                         hint="e.g. --crop=-50,-50,-5,50,50,30 (metres, in the splats' frame)")
    return values


def crop_mask(splats: Splats, box: tuple[float, ...]) -> np.ndarray:
    """True for splats whose centre lies inside the box."""
    lo, hi = np.asarray(box[:3]), np.asarray(box[3:])
    return np.all((splats.means >= lo) & (splats.means <= hi), axis=1)


def floater_mask(splats: Splats) -> np.ndarray:
    """False for floaters: invisible splats, and statistical outliers of the mean distance to the
    nearest neighbours (the point-cloud filter of Rusu et al.: beyond mean + 3 std)."""
    from scipy.spatial import cKDTree

    keep = splats.alpha() >= MIN_ALPHA
    if len(splats) <= FLOATER_NEIGHBOURS:
        return keep
    dist, _ = cKDTree(splats.means).query(splats.means, k=FLOATER_NEIGHBOURS + 1, workers=-1)
    mean_dist = dist[:, 1:].mean(axis=1)
    return keep & (mean_dist <= mean_dist.mean() + FLOATER_STD_RATIO * mean_dist.std())
