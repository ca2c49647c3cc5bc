"""Training checkpoints: one file, written atomically, refused when it belongs elsewhere.

A checkpoint holds the step, the Gaussians, every optimizer's state, the strategy's running
state and the random generators, so a resumed run continues exactly where it stopped. It also
names the scene it was trained on and its format version; a checkpoint of another scene
(another project, or an earlier SfM result) or of an older format is refused with a message.
"""

from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import atomic
from ..errors import InputError

FORMAT = 1
MAGIC = "spaceport-train-checkpoint"
FILE_NAME = "latest.pt"


@dataclass
class Checkpoint:
    """Everything needed to resume training at `step`."""

    step: int
    scene: str  # Scene.fingerprint of the model trained on
    structure: str  # fingerprint of the settings that shape the model (SH degree, strategy, size)
    params: dict[str, torch.Tensor]
    optimizers: dict[str, Any]
    strategy_state: dict[str, Any]
    rng: dict[str, torch.Tensor]
    extra: dict[str, Any] = field(default_factory=dict)  # elapsed time, untrained PSNR, owner tag


def path_in(folder: Path) -> Path:
    """The checkpoint file inside a checkpoint folder."""
    return Path(folder) / FILE_NAME


def save(folder: Path, ckpt: Checkpoint) -> Path:
    """Write the checkpoint atomically (a failed write keeps the previous one); returns its path."""
    path = path_in(folder)
    blob = {"magic": MAGIC, "format": FORMAT, **vars(ckpt)}
    with atomic.atomic_path(path) as tmp:
        torch.save(blob, tmp)
    return path


def load(folder: Path, device: torch.device) -> Checkpoint | None:
    """The checkpoint in `folder` (None when there is none); refuses foreign or old files."""
    path = path_in(folder)
    if not path.exists():
        return None
    hint = f"delete {path} to start training from scratch"
    try:
        blob = torch.load(path, map_location=device, weights_only=True, mmap=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        raise InputError(f"The checkpoint {path} is unreadable: {exc}", hint=hint,
                         path=path) from exc
    if not isinstance(blob, dict) or blob.get("magic") != MAGIC:
        raise InputError(f"{path} is not a Spaceport training checkpoint", hint=hint, path=path)
    if blob.get("format") != FORMAT:
        raise InputError(f"The checkpoint {path} has format {blob.get('format')!r}; this "
                         f"Spaceport resumes only format {FORMAT}", hint=hint, path=path)
    names = Checkpoint.__dataclass_fields__.keys()
    return Checkpoint(**{k: v for k, v in blob.items() if k in names})


def check_scene(ckpt: Checkpoint, scene: str, path: Path) -> None:
    """Refuse a checkpoint trained on another scene (another project or SfM result)."""
    if ckpt.scene != scene:
        raise InputError(
            f"The checkpoint {path} was trained on a different SfM model (another project, or "
            "an earlier SfM run); resuming from it would mix two scenes",
            hint=f"delete {path} to train this model from scratch", path=path)


def remove(folder: Path) -> None:
    """Delete the checkpoint (after a finished run)."""
    path_in(folder).unlink(missing_ok=True)
