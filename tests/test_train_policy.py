"""The local-or-cloud policy, with device descriptions injected."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.pipeline.errors import InputError
from app.pipeline.hardware import GpuInfo, decide, detect_gpus

T4 = GpuInfo(0, "Tesla T4", (7, 5), 15.6)
A10G = GpuInfo(0, "NVIDIA A10G", (8, 6), 22.0)
H100 = GpuInfo(0, "NVIDIA H100 80GB HBM3", (9, 0), 79.6)
RTX3080 = GpuInfo(0, "NVIDIA GeForce RTX 3080", (8, 6), 10.0)
P100 = GpuInfo(0, "Tesla P100", (6, 0), 16.0)


@pytest.mark.parametrize("gpu", [A10G, H100])
def test_a10g_class_or_better_trains_locally_on_that_gpu(gpu):
    for cloud in (False, True):
        d = decide("auto", [gpu], cloud_configured=cloud)
        assert (d.where, d.device, d.warning) == ("local", "cuda:0", False)
        assert gpu.name in d.reason


@pytest.mark.parametrize("gpus", [[], [T4], [RTX3080], [P100]], ids=["none", "T4", "3080", "P100"])
def test_anything_weaker_goes_to_the_cloud_when_it_is_configured(gpus):
    d = decide("auto", gpus, cloud_configured=True)
    assert d.where == "cloud"
    assert ("below the A10G class" in d.reason) if gpus else ("no CUDA GPU" in d.reason)


def test_without_a_cloud_a_weak_gpu_trains_locally_with_a_warning():
    d = decide("auto", [T4], cloud_configured=False)
    assert (d.where, d.device, d.warning) == ("local", "cuda:0", True)
    assert "max_gaussians" in d.reason


def test_without_gpu_or_cloud_a_cpu_preview_runs_with_a_warning():
    for gpus in ([], [P100]):  # a P100 is too old for gsplat's kernels
        d = decide("auto", gpus, cloud_configured=False)
        assert (d.where, d.device, d.warning) == ("local", "cpu", True)
        assert "CPU" in d.reason and "cloud" in d.reason


def test_the_user_can_force_either_side():
    assert decide("cloud", [H100], cloud_configured=True).where == "cloud"
    forced = decide("local", [], cloud_configured=True)
    assert (forced.where, forced.device) == ("local", "cpu")
    assert "chosen by the user" in forced.reason


def test_forcing_the_cloud_without_configuration_is_a_clear_error():
    with pytest.raises(InputError) as err:
        decide("cloud", [T4], cloud_configured=False)
    assert "cloud.bucket" in err.value.hint and "train.where" in err.value.hint
    assert err.value.action == "configure_cloud"


def test_the_best_of_several_gpus_is_chosen():
    second = GpuInfo(1, "NVIDIA A10G", (8, 6), 22.0)
    assert decide("auto", [T4, second], cloud_configured=True).device == "cuda:1"


def test_an_unknown_choice_is_refused():
    with pytest.raises(InputError):
        decide("gpu", [], cloud_configured=False)


class FakeCuda:
    """The part of torch.cuda that detection reads, describing devices a test chooses."""

    def __init__(self, devices: list[tuple[str, int, int, int]]) -> None:
        self.devices = devices

    def is_available(self) -> bool:
        return bool(self.devices)

    def device_count(self) -> int:
        return len(self.devices)

    def get_device_properties(self, i: int) -> SimpleNamespace:
        name, major, minor, memory = self.devices[i]
        return SimpleNamespace(name=name, major=major, minor=minor, total_memory=memory)


def test_detection_describes_each_device_torch_reports():
    cuda = FakeCuda([("Tesla T4", 7, 5, 15 * 2**30), ("NVIDIA A10G", 8, 6, 22 * 2**30)])
    assert detect_gpus(cuda) == [GpuInfo(0, "Tesla T4", (7, 5), 15.0), GpuInfo(1, "NVIDIA A10G", (8, 6), 22.0)]
    assert decide("auto", detect_gpus(cuda), cloud_configured=False).device == "cuda:1"
    assert detect_gpus(FakeCuda([])) == []


def test_detection_on_this_machine_matches_torch():
    import torch

    gpus = detect_gpus()
    assert [g.index for g in gpus] == list(range(torch.cuda.device_count() if torch.cuda.is_available() else 0))
    for g in gpus:
        assert g.compute_capability == torch.cuda.get_device_capability(g.index)


def test_the_cloud_counts_as_configured_only_with_bucket_role_and_image():
    from app.pipeline.hardware import cloud_configured

    full = SimpleNamespace(bucket="b", role_arn="arn:aws:iam::1:role/r", train_image="ecr/x")
    assert cloud_configured(full)
    assert not cloud_configured(SimpleNamespace(**{**vars(full), "role_arn": ""}))
    assert not cloud_configured(SimpleNamespace(bucket=""))
