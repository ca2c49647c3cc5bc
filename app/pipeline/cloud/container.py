"""The SageMaker container entrypoint (`docker run IMAGE train`): our stage code, SageMaker's contract.

Reads /opt/ml/input/config/hyperparameters.json (string values: `stage` = train | compress and
`settings` = that stage's settings as JSON) and the channels in /opt/ml/input/data/<channel>;
writes the stage outputs to /opt/ml/model (tarred to model.tar.gz), small results (metrics,
summary.json) to /opt/ml/output/data (output.tar.gz), checkpoints to /opt/ml/checkpoints (restored
on restart; SIGTERM asks the stage to checkpoint and stop), the reason of a failure to
/opt/ml/output/failure. Exit status 0 only on success. Every event goes to stdout as one
`SPACEPORT_EVENT {json}` line, and each TrainMetrics also as `step=.. loss=..` for MetricDefinitions.
The contract's names are in contract.py (SPACEPORT_SM_ROOT relocates /opt/ml for tests).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import sys
import traceback
from pathlib import Path
from typing import Any, Sequence

from .. import atomic
from ..errors import Cancelled, InputError, SpaceportError
from ..events import Event, Log, TrainMetrics
from ..settings import Settings
from ..cancel import CancelToken
from .contract import (COMPRESS_REPORT, FAILURE_CHARS, GEO, MODEL_CHANNEL, SFM_CHANNEL, SM_ROOT,
                       SM_ROOT_ENV, SPLATS, TRAIN_SUMMARY, SageMakerTree)
from .extract import safe_extract
from .logs import format_event

EXIT_OK, EXIT_FAILED, EXIT_BUG = 0, 1, 2
# imported before SIGTERM is taken: torch and pycolmap (glog) install fatal-signal handlers on import
STAGE_MODULES = {"train": ("..train.trainer", "pycolmap"), "compress": ("..compress.compress_ply",)}


def emit(event: Event) -> None:
    """Print an event as the log lines our parser and SageMaker's metric regexes read."""
    print(format_event(event), flush=True)
    if isinstance(event, TrainMetrics):
        psnr = f" psnr={event.psnr:.4f}" if event.psnr is not None else ""
        print(f"step={event.step} loss={event.loss:.6f}{psnr} gaussians={event.num_gaussians}", flush=True)


def read_hyperparameters(tree: SageMakerTree) -> tuple[str, dict[str, Any]]:
    """(stage, settings dict) from hyperparameters.json (SageMaker passes every value as a string)."""
    try:
        hp = json.loads(tree.hyperparameters.read_text(encoding="utf-8"))
        stage = str(hp["stage"])
        settings = json.loads(hp.get("settings") or "{}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"Unreadable hyperparameters: {exc}", path=tree.hyperparameters,
                         hint="start the job from Spaceport (it sets `stage` and `settings`)") from exc
    if stage not in ("train", "compress"):
        raise InputError(f"Unknown stage {stage!r} in the hyperparameters", path=tree.hyperparameters,
                         hint="stage must be train or compress")
    return stage, settings


def run_train(tree: SageMakerTree, settings: dict[str, Any], cancel: CancelToken) -> dict[str, Any]:
    """Train on the `sfm` channel; splats.ply and geo.json to model/, metrics and summary to output/data."""
    from ..train.trainer import train_model  # imported by main() before the SIGTERM handler

    sfm = tree.channel(SFM_CHANNEL)
    section = Settings.from_dict({"train": settings}).train
    tree.checkpoints.mkdir(parents=True, exist_ok=True)
    work = tree.work / "train"
    work.mkdir(parents=True, exist_ok=True)
    result = train_model(sfm / "sparse", sfm / "images", work, section, emit, cancel,
                         checkpoint_dir=tree.checkpoints) or {}
    ply = work / str(result.get("splats") or SPLATS)
    if not ply.is_file():
        raise SpaceportError(f"Training finished without writing {ply}", path=ply)
    tree.model.mkdir(parents=True, exist_ok=True)
    tree.output_data.mkdir(parents=True, exist_ok=True)
    _move(ply, tree.model / SPLATS)
    if (sfm / GEO).exists():
        shutil.copyfile(sfm / GEO, tree.model / GEO)
    for key, value in result.items():  # metrics, held-out image: small, always brought home
        if key != "splats" and isinstance(value, str) and (work / value).is_file():
            _move(work / value, tree.output_data / value)
    summary = {k: v for k, v in result.items() if v is None or isinstance(v, (int, float, str, bool))}
    summary["splats"] = SPLATS
    atomic.write_json(tree.output_data / TRAIN_SUMMARY, summary)
    return summary


def run_compress(tree: SageMakerTree, settings: dict[str, Any], cancel: CancelToken) -> dict[str, Any]:
    """Compress the training job's model.tar.gz from the `model` channel into model/ (scene.sog)."""
    from ..compress.compress_ply import compress_ply  # imported by main() before the SIGTERM handler

    archives = sorted(tree.channel(MODEL_CHANNEL).rglob("*.tar.gz"))
    if not archives:
        raise InputError("The model channel holds no model.tar.gz", path=tree.data / MODEL_CHANNEL,
                         hint="start the compress job with the training job's model.tar.gz as input")
    unpacked = tree.work / "trained"
    safe_extract(archives[0], unpacked)
    geo = unpacked / GEO
    georef = json.loads(geo.read_text()) if geo.exists() else None
    section = Settings.from_dict({"compress": settings}).compress
    tree.model.mkdir(parents=True, exist_ok=True)
    result = compress_ply(unpacked / SPLATS, tree.model, section, emit, cancel, georef=georef) or {}
    for key in ("output", "source_ply"):  # paths on this machine mean nothing at home: relative ones
        result[key] = _relative(result.get(key), tree.model)
    result["files"] = [_relative(f, tree.model) for f in result.get("files", [])]
    atomic.write_json(tree.model / COMPRESS_REPORT, result)  # the compress stage's outputs, back home
    return {k: v for k, v in result.items() if isinstance(v, (int, float, str, bool))}


def _relative(path: str | None, root: Path) -> str | None:
    """`path` relative to `root` (posix) when inside it, else its name."""
    if not path:
        return path
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return Path(path).name


def _move(src: Path, dst: Path) -> None:
    with atomic.atomic_path(dst) as tmp:
        shutil.move(src, tmp)


def write_failure(tree: SageMakerTree, text: str) -> None:
    """Leave the reason SageMaker shows as FailureReason (its first 1,024 characters)."""
    atomic.write_text(tree.failure, text[:FAILURE_CHARS])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the stage named in the hyperparameters; exit 0 only when it succeeded."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] != "train":
        print(f"usage: {sys.argv[0]} train (SageMaker runs the image as `IMAGE train`)", file=sys.stderr)
        return EXIT_FAILED
    tree = SageMakerTree(Path(os.environ.get(SM_ROOT_ENV, SM_ROOT)))
    cancel = CancelToken()
    stage = "train"
    try:
        stage, settings = read_hyperparameters(tree)
        runner = run_train if stage == "train" else run_compress
        for module in STAGE_MODULES[stage]:
            importlib.import_module(module, __package__)
        signal.signal(signal.SIGTERM, lambda *_: cancel.cancel())  # stop or spot interruption
        summary = runner(tree, settings, cancel)
        emit(Log(stage=stage, text=f"{stage} job done: {json.dumps(summary)}"))
        return EXIT_OK
    except Cancelled:
        write_failure(tree, f"{stage} stopped by SIGTERM; the checkpoint in /opt/ml/checkpoints resumes it")
        return EXIT_FAILED
    except SpaceportError as exc:
        emit(Log(stage=stage, level="error", text=exc.render()))
        write_failure(tree, exc.render())
        return EXIT_FAILED
    except Exception as exc:  # a bug: the traceback goes to the job's log, the reason to SageMaker
        traceback.print_exc()
        write_failure(tree, f"{type(exc).__name__}: {exc}")
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
