"""The SageMaker entrypoint run for real on CPU against a temporary /opt/ml tree."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from app.pipeline.cloud.logs import parse_line
from app.pipeline.events import TrainMetrics
from cloud_moto import tar_bytes, write_handoff

ROOT = Path(__file__).resolve().parents[1]
TINY = {"max_steps": 20, "min_points": 10, "metrics_every": 5, "eval_every_n_image": 0, "eval_every": 1000,
        "checkpoint_every": 10, "preview_every": 0, "cpu_max_side": 96, "sh_degree": 1, "device": "cpu"}


def _tree(tmp_path: Path, stage: str, settings: dict) -> Path:
    ml = tmp_path / "opt ml"
    (ml / "input" / "config").mkdir(parents=True)
    (ml / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps({"stage": stage, "settings": json.dumps(settings)}))  # SageMaker: string values
    return ml


def _sfm_channel(tmp_path: Path, ml: Path) -> None:
    from app.pipeline.project import Project

    project = Project.open(tmp_path / "p")
    write_handoff(project, n_images=4)
    sfm = ml / "input" / "data" / "sfm"
    shutil.copytree(project.paths.sfm_undistorted, sfm)
    shutil.copyfile(project.paths.geo_json, sfm / "geo.json")


def _run(ml: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "SPACEPORT_SM_ROOT": str(ml), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(ROOT / "packaging" / "sagemaker" / "train"), *args],
                          env=env, capture_output=True, text=True, timeout=timeout, cwd=ml.parent)


def test_bad_hyperparameters_fail_with_a_reason_for_sagemaker(tmp_path):
    ml = _tree(tmp_path, "paint", {})
    proc = _run(ml, "train")
    assert proc.returncode == 1
    assert "Unknown stage 'paint'" in (ml / "output" / "failure").read_text()


def test_a_missing_channel_is_named_in_the_failure_reason(tmp_path):
    ml = _tree(tmp_path, "train", TINY)
    proc = _run(ml, "train")
    assert proc.returncode != 0
    failure = (ml / "output" / "failure").read_text()
    assert len(failure) <= 1024 and "Input channel 'sfm' is missing" in failure


def test_training_in_the_container_writes_the_model_and_metrics_and_logs_events(tmp_path):
    ml = _tree(tmp_path, "train", TINY)
    _sfm_channel(tmp_path, ml)
    proc = _run(ml, "train")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not (ml / "output" / "failure").exists()
    assert (ml / "model" / "splats.ply").stat().st_size > 0 and (ml / "model" / "geo.json").exists()
    assert json.loads((ml / "output" / "data" / "summary.json").read_text())
    metrics = [e for e in (parse_line(line, "train") for line in proc.stdout.splitlines())
               if isinstance(e, TrainMetrics)]
    assert metrics and metrics[-1].step == 20
    assert any(line.startswith(f"step={metrics[-1].step} loss=") for line in proc.stdout.splitlines())


def test_sigterm_checkpoints_and_a_restarted_job_finishes_from_there(tmp_path):
    ml = _tree(tmp_path, "train", {**TINY, "max_steps": 100000, "checkpoint_every": 100000})
    _sfm_channel(tmp_path, ml)
    env = {**os.environ, "SPACEPORT_SM_ROOT": str(ml), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(ROOT / "packaging" / "sagemaker" / "train"), "train"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:  # wait until it trains
        if isinstance(parse_line(line, "train"), TrainMetrics):
            break
    proc.send_signal(signal.SIGTERM)
    proc.stdout.read()
    assert proc.wait(120) == 1
    assert "SIGTERM" in (ml / "output" / "failure").read_text()
    assert any((ml / "checkpoints").iterdir())  # SageMaker syncs these and restores them on restart

    hp = ml / "input" / "config" / "hyperparameters.json"
    hp.write_text(json.dumps({"stage": "train", "settings": json.dumps(TINY)}))
    (ml / "output" / "failure").unlink()
    again = _run(ml, "train")
    assert again.returncode == 0, again.stderr[-3000:]
    assert (ml / "model" / "splats.ply").exists()


def test_compression_in_the_container_reads_the_training_model_tar(tmp_path):
    from cloud_moto import ply_bytes

    ml = _tree(tmp_path, "compress", {})
    channel = ml / "input" / "data" / "model"
    channel.mkdir(parents=True)
    geo = json.dumps({"origin": {"lat": 50.8, "lon": -0.1, "alt": 5.0}, "crs": "ENU", "units": "m"}).encode()
    (channel / "model.tar.gz").write_bytes(tar_bytes({"splats.ply": ply_bytes(300), "geo.json": geo}))
    proc = _run(ml, "train")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (ml / "model" / "scene.sog").stat().st_size > 0
    report = json.loads((ml / "model" / "compress_report.json").read_text())
    assert report["output"] == "scene.sog" and report["files"] == ["scene.sog"]  # relative to model/
