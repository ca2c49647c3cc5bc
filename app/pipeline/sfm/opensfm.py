"""The OpenSfM backend: run OpenSfM's steps with GPS (only where `import opensfm` works; it is
not on PyPI), then read its COLMAP export with repairs (opensfm_export.py)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

from .. import atomic
from ..errors import Cancelled, StageError
from ..stage import StageContext
from .flight import Flight
from .handoff import RawResult
from .intrinsics import model_focal_priors
from .opensfm_export import read_opensfm_export
from .timing import PhaseTimes

STEPS = ("extract_metadata", "detect_features", "match_features", "create_tracks",
         "reconstruct", "export_colmap")
# OpenSfM's own entry point (bin/opensfm_main.py), run as a child process per step
ENTRY = ("import sys; from opensfm import commands; from opensfm.dataset import DataSet; "
         "commands.command_runner(commands.opensfm_commands, lambda p, t: DataSet(p), "
         "dataset_choices=['opensfm'])")


def opensfm_available() -> bool:
    """True when the `opensfm` package can be imported by this Python."""
    return importlib.util.find_spec("opensfm") is not None


def config_yaml(flight: Flight, processes: int) -> str:
    """OpenSfM config for a GPS drone flight (as the brighton reference run was made)."""
    return "\n".join([
        f"processes: {processes}", f"read_processes: {processes}", "feature_type: HAHOG",
        "feature_process_size: 2048", "feature_min_frames: 4000",
        "matching_gps_distance: 150", "matching_gps_neighbors: 8",
        f"use_altitude_tag: {'yes' if flight.with_gps else 'no'}",
        f"bundle_use_gps: {'yes' if flight.with_gps else 'no'}", ""])


def read_dataset(dataset: Path, flight: Flight) -> RawResult:
    """Read an OpenSfM dataset's colmap_export/ (repaired) as a backend result."""
    rec, report = read_opensfm_export(dataset / "colmap_export")
    images = dataset / "images"
    return RawResult(models=[rec], image_path=images if images.is_dir() else flight.source,
                     focal_priors=model_focal_priors(rec, flight),
                     extra={"opensfm_repairs": report.to_dict(), "opensfm_dataset": str(dataset)})


def run_opensfm(ctx: StageContext, flight: Flight) -> RawResult:
    """Run OpenSfM on the flight in sfm/opensfm/ and read its export."""
    if not opensfm_available():
        raise StageError("The OpenSfM backend was chosen but OpenSfM is not installed "
                         "(it is not on PyPI)",
                         hint="install OpenSfM from source into this Python, or use "
                              "the pycolmap backend (setting sfm.backend = pycolmap, the default)")
    dataset = ctx.project.paths.sfm / "opensfm"
    images = dataset / "images"
    images.mkdir(parents=True, exist_ok=True)
    for name in flight.names:
        link = images / name
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            os.symlink(flight.source / name, link)
    atomic.write_text(dataset / "config.yaml", config_yaml(flight, os.cpu_count() or 1))
    times = PhaseTimes()
    for i, step in enumerate(STEPS):
        ctx.progress(0.85 * i / len(STEPS), f"OpenSfM {step}")
        with times.phase(f"opensfm_{step}"):
            _run_step(ctx, step, dataset)
    raw = read_dataset(dataset, flight)
    raw.timings.update(times)
    return raw


def _run_step(ctx: StageContext, step: str, dataset: Path) -> None:
    log = dataset / f"{step}.log"
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen([sys.executable, "-c", ENTRY, step, str(dataset)],
                                stdout=out, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            if ctx.cancel.cancelled:
                proc.terminate()
                proc.wait()
                raise Cancelled()
            time.sleep(0.5)
    if proc.returncode != 0:
        lines = log.read_text(errors="replace").strip().splitlines()
        raise StageError(f"OpenSfM {step} failed (exit {proc.returncode}): "
                         f"{lines[-1] if lines else 'no output'}",
                         hint=f"see {log}", path=log)
