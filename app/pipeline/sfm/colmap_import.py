"""`--sfm-from DIR`: import an existing COLMAP model; it goes through the same gate."""

from __future__ import annotations

from pathlib import Path

import pycolmap

from ..errors import InputError
from ..stage import StageContext
from .flight import Flight
from .handoff import RawResult
from .intrinsics import model_focal_priors

MODEL_FILES = ("cameras.bin", "cameras.txt")


def find_model_dir(folder: Path) -> Path:
    """The folder holding cameras/images/points3D: DIR, DIR/sparse/0, DIR/sparse or DIR/0."""
    for candidate in (folder, folder / "sparse" / "0", folder / "sparse", folder / "0"):
        if any((candidate / name).exists() for name in MODEL_FILES):
            return candidate
    raise InputError(f"No COLMAP model (cameras.bin or cameras.txt) in {folder}",
                     hint="pass the folder that holds cameras/images/points3D (.bin or .txt), "
                          "or its parent with sparse/0", path=folder)


def find_image_dir(folder: Path, model_dir: Path, names: list[str], flight: Flight) -> Path:
    """Where the model's image names resolve: DIR/images, beside the model, or the flight."""
    for candidate in (folder / "images", model_dir.parent / "images",
                      model_dir.parent.parent / "images", flight.source):
        if names and all((candidate / n).exists() for n in names):
            return candidate
    raise InputError(f"The images of the model in {model_dir} were not found "
                     f"(e.g. {names[0] if names else '?'})",
                     hint=f"put them in {folder / 'images'} or import a model of this flight",
                     path=model_dir)


def import_model(ctx: StageContext, folder: str | Path, flight: Flight) -> RawResult:
    """Load DIR's model (an OpenSfM dataset is read with the repairing reader, logged)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"The COLMAP model folder to import, {folder}, does not exist",
                         hint="pass the folder of an existing COLMAP model", path=folder)
    if (folder / "colmap_export").is_dir() and (folder / "reconstruction.json").exists():
        from .opensfm import read_dataset

        ctx.log(f"{folder} is an OpenSfM dataset: reading its colmap_export/ with repairs")
        return read_dataset(folder, flight)
    model_dir = find_model_dir(folder)
    try:
        rec = pycolmap.Reconstruction(str(model_dir))
    except Exception as exc:  # pycolmap raises plain IndexError/ValueError on broken files
        raise InputError(f"The COLMAP model in {model_dir} cannot be loaded: {exc}",
                         hint="check that cameras, images and points3D belong together; an "
                              "OpenSfM export needs its dataset folder (with "
                              "reconstruction.json) so its quirks can be repaired",
                         path=model_dir) from exc
    if not rec.num_reg_images():
        raise InputError(f"The COLMAP model in {model_dir} has no registered image",
                         path=model_dir)
    rec.update_point_3d_errors()
    names = sorted(im.name for im in rec.images.values())
    images = find_image_dir(folder, model_dir, names, flight)
    return RawResult(models=[rec], image_path=images,
                     focal_priors=model_focal_priors(rec, flight),
                     extra={"imported_from": str(model_dir)})
