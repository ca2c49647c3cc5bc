"""When the images form several models: a separate model lying inside the survey (its images'
GPS next to the main model's) is a part that failed to connect, and counts against the gate;
one lying elsewhere is another flight in the same folder and is left out with a warning."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from scipy.spatial import cKDTree

from .. import geodesy
from .flight import Flight

ADJACENT_SPACINGS = 3.0  # within this many image spacings of the main model: the same survey
ADJACENT_SHARE = 0.5  # of a separate model's images with GPS


def expected_in_main(membership: list[dict[str, Any]], expected: list[str], flight: Flight,
                     log: Callable[[str, str], None]) -> list[str]:
    """The images the kept (largest) model should hold, given the separate models found."""
    if len(membership) <= 1:
        return expected
    elsewhere: set[str] = set()
    xy = _gps_xy(flight)
    main = [xy[n] for n in membership[0]["images"] if n in xy]
    tree = cKDTree(main) if len(main) >= 2 else None
    spacing = float(np.median(tree.query(main, k=2)[0][:, 1])) if tree is not None else 0.0
    for m in membership[1:]:
        listing = f"model {m['model']}: {len(m['images'])} images " \
                  f"({', '.join(m['images'][:5])}{'...' if len(m['images']) > 5 else ''})"
        located = [xy[n] for n in m["images"] if n in xy]
        if tree is not None and located:
            near = tree.query(located)[0] <= ADJACENT_SPACINGS * max(spacing, 1e-6)
            if near.mean() < ADJACENT_SHARE:
                elsewhere.update(m["images"])
                log(f"{listing} lies away from the main model's images (another flight in the "
                    f"folder?): left out of the model and of the registration count", "warning")
                continue
        log(f"{listing} lies within the survey but shares no matches with the main model: "
            f"its images count as not registered", "warning")
    return [name for name in expected if name not in elsewhere]


def _gps_xy(flight: Flight) -> dict[str, np.ndarray]:
    """East/north metres of each image with GPS about the first one."""
    located = flight.with_gps
    if not located:
        return {}
    lla = np.array([[im.gps[0], im.gps[1], 0.0] for im in located])
    enu = geodesy.lla_to_enu(lla, lla[0, 0], lla[0, 1], 0.0)
    return {im.file: enu[i, :2] for i, im in enumerate(located)}
