"""Render PSNR of an export: training's held-out views rendered with the splats before and after.

The views and the held-out rule are the training stage's (train/data.py), the rendering is the
one training uses (render/); on the CPU the views are rendered at a reduced resolution
and a bounded number of views, time and splats, so the check costs seconds, not minutes.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from ..cancel import CancelToken
from ..errors import InputError
from ..formats.splats import Splats
from .settings import CompressSettings

RenderCheck = Callable[[Splats, Splats], dict[str, Any]]


def skipped(reason: str) -> dict[str, Any]:
    """The report entry of a render check that did not run, saying why."""
    return {"skipped": reason}


def render_psnr(model_dir, images_dir, every_n: int, reference: Splats, decoded: Splats,
                settings: CompressSettings, gpu_max_side: int,
                cancel: CancelToken | None = None) -> dict[str, Any]:
    """PSNR of `decoded` renders against `reference` renders (and of both against the photos);
    `cancel` is checked before each view (Cancelled)."""
    from ..train.data import load_scene
    from ..train.loss import psnr
    from ..render.rasterize import rasterizer_for
    from ..render.views import render_view, resolve_device, splat_params

    device = resolve_device("auto")
    on_cpu = device.type == "cpu"
    if on_cpu and len(reference) > settings.render_max_splats_cpu:
        return skipped(f"{len(reference)} splats are more than compress.render_max_splats_cpu = "
                       f"{settings.render_max_splats_cpu} to render on the CPU")
    t0 = time.perf_counter()
    try:
        scene = load_scene(model_dir, images_dir, min_points=0,
                           max_side=settings.render_max_side if on_cpu else gpu_max_side)
    except InputError as exc:
        return skipped(f"the SfM hand-off is unusable: {exc.message}")
    held_out = scene.split(every_n)[1]
    if not held_out:
        return skipped(f"the SfM model has {len(scene.views)} view(s): none is held out")
    views = held_out[: max(1, settings.render_max_views)]
    rasterize = rasterizer_for(device)
    before, after = splat_params(reference, device), splat_params(decoded, device)
    rows: list[tuple[float, float, float]] = []
    for view in views:
        if cancel is not None:
            cancel.check()
        if rows and time.perf_counter() - t0 > settings.render_budget_s:
            break  # at least one view; more while the time budget lasts
        ref, photo = render_view(before, view, rasterize, reference.sh_degree, device)
        dec, _ = render_view(after, view, rasterize, decoded.sh_degree, device)
        rows.append((psnr(dec, ref), psnr(ref, photo), psnr(dec, photo)))
    arr = np.array(rows)
    return {"views": len(rows), "held_out": len(held_out), "of_views": len(scene.views),
            "resolution": f"{views[0].width}x{views[0].height}", "device": str(device),
            "psnr_vs_uncompressed_db": {"mean": round(float(arr[:, 0].mean()), 3),
                                        "min": round(float(arr[:, 0].min()), 3)},
            "psnr_vs_photos_db": {"uncompressed": round(float(arr[:, 1].mean()), 3),
                                  "compressed": round(float(arr[:, 2].mean()), 3),
                                  "loss": round(float(arr[:, 1].mean() - arr[:, 2].mean()), 3)},
            "seconds": round(time.perf_counter() - t0, 3)}
