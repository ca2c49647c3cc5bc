"""`spaceport render`: one registered camera's view of the splats, offscreen, through the
viewer's splat visual (its pose and undistorted intrinsics), optionally beside its photo."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .pipeline.errors import InputError

MAX_SIDE = 1600  # default render size: the photo's, at most this long


def add_parser(sub) -> None:
    """Register the `render` subcommand."""
    p = sub.add_parser("render", help="render a registered camera's view of the splats to PNG")
    p.add_argument("project", type=Path)
    p.add_argument("--camera", required=True, metavar="IMAGE_NAME",
                   help="a registered image of the SfM model, e.g. DJI_0001.JPG")
    p.add_argument("--model", type=Path,
                   help="splat model to render (PLY, SOG, .splat, .spz); default: the project's "
                        "train/splats.ply, else compress/scene.sog")
    p.add_argument("--size", metavar="WxH", help=f"image size (default: the photo's, long side "
                                                 f"at most {MAX_SIDE})")
    p.add_argument("-o", "--output", type=Path, required=True, help="PNG to write")
    p.add_argument("--compare", action="store_true",
                   help="also write the photo beside it (<output>.photo.png) and print the PSNR")
    p.set_defaults(func=run)


def parse_size(text: str | None, native: tuple[int, int]) -> tuple[int, int]:
    """'WxH' or the native size scaled down to MAX_SIDE."""
    if text is None:
        s = min(1.0, MAX_SIDE / max(native))
        return max(1, round(native[0] * s)), max(1, round(native[1] * s))
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        w = h = 0
    if w <= 0 or h <= 0 or w > 16384 or h > 16384:
        raise InputError(f"--size expects WIDTHxHEIGHT in pixels, got {text!r}",
                         hint="e.g. --size 1024x768")
    return w, h


def run(args: argparse.Namespace) -> int:
    """Render, save, and with --compare save the photo and print the PSNR."""
    from PIL import Image

    from .pipeline.formats.colmap import camera_named, read_sparse_model
    from .pipeline.formats.model import load_model
    from .pipeline.project import ProjectPaths
    from .viewer.offscreen import render_view
    from .viewer.pose import fit_intrinsics
    from .viewer.splat_data import prepare
    from .viewer.splat_visual import DrawData

    paths = ProjectPaths(args.project)
    if not paths.sfm_model.is_dir():
        raise InputError(f"{args.project} has no SfM model ({paths.sfm_model})",
                         hint="run the sfm stage first (spaceport process ...)",
                         path=paths.sfm_model)
    cam = camera_named(read_sparse_model(paths.sfm_model).cameras, args.camera)
    model = args.model or next((p for p in (paths.splats_ply, paths.scene_sog) if p.exists()),
                               None)
    if model is None:
        raise InputError(f"{args.project} has no trained splats (train/splats.ply or "
                         "compress/scene.sog)", hint="run training first, or pass --model FILE",
                         path=paths.train)
    loaded = load_model(model)
    size = parse_size(args.size, (cam.width, cam.height))
    K = fit_intrinsics(cam.K, (cam.width, cam.height), size)
    image = render_view(DrawData.build(prepare(loaded.splats)), cam.viewmat, K, size)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image[..., :3]).save(args.output)
    print(f"{args.output}: {size[0]}x{size[1]}, camera {cam.name}, "
          f"{len(loaded.splats):,} splats from {model}")
    if not loaded.frame.has_sidecar and model not in (paths.splats_ply,):
        print(f"note: {loaded.frame.describe()}")
    if args.compare:
        photo_path = paths.sfm_images / cam.name
        if not photo_path.is_file():
            raise InputError(f"The photo {photo_path} is missing", path=photo_path,
                             hint="rerun the sfm stage (it writes the undistorted images)")
        with Image.open(photo_path) as im:
            photo = _letterboxed(im.convert("RGB"), (cam.width, cam.height), size)
        out = args.output.with_name(args.output.stem + ".photo.png")
        Image.fromarray(photo).save(out)
        mse = np.mean((image[..., :3].astype(np.float64) - photo.astype(np.float64)) ** 2)
        value = float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)
        print(f"{out}: the photo; PSNR render vs photo {value:.2f} dB")
    return 0


def _letterboxed(photo, native: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """The photo placed as the render places its view in `size` (scaled, centred, black bars)."""
    from PIL import Image

    s = min(size[0] / native[0], size[1] / native[1])
    w, h = round(native[0] * s), round(native[1] * s)
    canvas = Image.new("RGB", size)
    canvas.paste(photo.resize((w, h), Image.Resampling.LANCZOS),
                 ((size[0] - w) // 2, (size[1] - h) // 2))
    return np.asarray(canvas)
