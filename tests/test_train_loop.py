"""train_model end to end on a tiny scene: learning, outputs, checkpoints, resume, divergence."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from plyfile import PlyData

from app.pipeline.errors import Cancelled, InputError, StageError
from app.pipeline.events import Log, PreviewSnapshot, TrainMetrics
from app.pipeline.formats.ply import read_ply
from app.pipeline.stage import CancelToken
from app.pipeline.train import checkpoint as ckpt_io
from app.pipeline.train import trainer
from app.pipeline.train.trainer import train_model
from tests.train_scene import make_scene, quick_settings


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> tuple[Path, Path]:
    return make_scene(tmp_path_factory.mktemp("tiny"), n_views=6, n_points=150, width=48,
                      height=36)


def train(scene, out: Path, stop_at: int | None = None, **overrides):
    """Run train_model; when stop_at is given, cancel once that step is reported."""
    events, cancel = [], CancelToken()

    def emit(event):
        events.append(event)
        if stop_at is not None and isinstance(event, TrainMetrics) and event.step >= stop_at:
            cancel.cancel()

    outputs = train_model(scene[0], scene[1], out, quick_settings(**overrides), emit, cancel)
    return outputs, events


def test_training_lowers_the_loss_and_beats_the_untrained_psnr(scene, tmp_path):
    outputs, events = train(scene, tmp_path, max_steps=60)
    metrics = [e for e in events if isinstance(e, TrainMetrics)]
    assert [m.step for m in metrics] == [10, 20, 30, 40, 50, 60]
    assert metrics[-1].loss < metrics[0].loss
    assert outputs["psnr"] > outputs["initial_psnr"] + 1.0
    assert metrics[-1].psnr == pytest.approx(outputs["psnr"], abs=1e-3)
    assert all(m.it_per_s > 0 and m.num_gaussians > 0 for m in metrics)
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [m.step for m in metrics]
    previews = [e for e in events if isinstance(e, PreviewSnapshot)]
    assert previews and all(Path(p.path).is_file() for p in previews)
    assert (tmp_path / "heldout.png").is_file()
    assert not ckpt_io.path_in(tmp_path / "checkpoints").exists()  # removed when finished


def test_splats_ply_has_the_standard_layout_and_reads_back(scene, tmp_path):
    outputs, _ = train(scene, tmp_path, max_steps=20, sh_degree=3)
    path = tmp_path / outputs["splats"]
    vertex = PlyData.read(str(path))["vertex"]
    names = [p.name for p in vertex.properties]
    assert names == (["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
                     + [f"f_rest_{i}" for i in range(45)]
                     + ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2",
                        "rot_3"])
    assert len(vertex.data) == outputs["num_gaussians"]
    assert read_ply(path).finite_mask().all()


def test_resume_after_cancel_equals_an_uninterrupted_run(scene, tmp_path):
    straight, _ = train(scene, tmp_path / "a", max_steps=40)
    with pytest.raises(Cancelled):
        train(scene, tmp_path / "b", stop_at=20, max_steps=40)
    saved = ckpt_io.load(tmp_path / "b" / "checkpoints", torch.device("cpu"))
    assert saved.step == 20 and saved.optimizers["means"]["state"]
    resumed, events = train(scene, tmp_path / "b", max_steps=40)
    assert any(isinstance(e, Log) and "resuming from the checkpoint at step 20" in e.text
               for e in events)
    assert resumed["steps"] == straight["steps"] == 40
    a, b = read_ply(tmp_path / "a" / "splats.ply"), read_ply(tmp_path / "b" / "splats.ply")
    assert len(a) == len(b)
    for key in ("means", "scales", "quats", "opacities", "sh0", "shN"):
        # not bit-exact: two uninterrupted CPU runs already differ in the last float bit
        np.testing.assert_allclose(getattr(a, key), getattr(b, key), rtol=1e-4, atol=1e-5)
    steps = [json.loads(x)["step"] for x in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [10, 20, 30, 40]


def test_a_nan_loss_stops_with_a_message_and_keeps_the_last_good_checkpoint(scene, tmp_path,
                                                                            monkeypatch):
    with pytest.raises(Cancelled):
        train(scene, tmp_path, stop_at=20, max_steps=40)
    real_loss = trainer.photometric_loss
    monkeypatch.setattr(trainer, "photometric_loss",  # fault injection: the 3rd loss is NaN
                        lambda *a, calls=[]: real_loss(*a) * (float("nan") if calls.append(1)
                                                              or len(calls) == 3 else 1.0))
    with pytest.raises(StageError) as err:
        train(scene, tmp_path, max_steps=40)
    assert "diverged at step 22" in err.value.message
    assert "last good checkpoint" in err.value.message
    assert ckpt_io.load(tmp_path / "checkpoints", torch.device("cpu")).step == 20


def test_a_failed_checkpoint_write_keeps_the_previous_one(scene, tmp_path, monkeypatch):
    with pytest.raises(Cancelled):
        train(scene, tmp_path, stop_at=20, max_steps=60)

    def disk_full(obj, path):
        Path(path).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ckpt_io.torch, "save", disk_full)
    with pytest.raises(Cancelled):
        _, events = train(scene, tmp_path, stop_at=40, max_steps=60)
    monkeypatch.undo()
    assert ckpt_io.load(tmp_path / "checkpoints", torch.device("cpu")).step == 20
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["latest.pt"]


def test_a_checkpoint_of_another_scene_is_refused(scene, tmp_path):
    other = make_scene(tmp_path / "other", n_views=6, n_points=150, width=48, height=36, seed=5)
    with pytest.raises(Cancelled):
        train(other, tmp_path / "other_train", stop_at=10, max_steps=40)
    shutil.copytree(tmp_path / "other_train" / "checkpoints", tmp_path / "mine" / "checkpoints")
    with pytest.raises(InputError) as err:
        train(scene, tmp_path / "mine", max_steps=40)
    assert "different SfM model" in err.value.message and "delete" in err.value.hint


def test_a_checkpoint_of_an_older_format_is_refused(scene, tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    torch.save({"magic": ckpt_io.MAGIC, "format": 0, "step": 5}, ckpt_io.path_in(folder))
    with pytest.raises(InputError) as err:
        train(scene, tmp_path, max_steps=40)
    assert "format 0" in err.value.message and str(ckpt_io.path_in(folder)) in err.value.render()


def test_mcmc_trains_on_cpu_within_its_budget(scene, tmp_path):
    outputs, _ = train(scene, tmp_path, max_steps=80, strategy="mcmc", max_gaussians=160)
    assert 150 < outputs["num_gaussians"] <= 160
    assert outputs["psnr"] > outputs["initial_psnr"]
