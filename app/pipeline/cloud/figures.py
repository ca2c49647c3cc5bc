"""The figures cost and placement estimates rest on, each marked measured, assumed or unknown.

A measured figure names the benchmark result it comes from (tests check the numbers here
against those files); an assumed one says what it assumes and why nothing was measured.
"""

from __future__ import annotations

from dataclasses import dataclass

from .instances import InstanceType

# bench/results/compress.json, row "ours SH3": 1,000,000 SH3 splats to SOG in 22.53 s on 2 CPUs,
# 16.63x smaller than the PLY (python bench/compress.py; tests/test_cloud_figures.py rereads it)
COMPRESS_BENCH = {"file": "bench/results/compress.json", "row": "ours SH3", "splats": 1_000_000,
                  "seconds": 22.53, "cpus": 2, "ratio_to_ply": 16.63}
BYTES_PER_SPLAT = 62 * 4  # the standard 3DGS PLY row with degree-3 SH (a format fact)
# gsplat's published figure (docs, mip-NeRF 360, default strategy): 30k steps in 19.4 min on an A100
PUBLISHED_A100 = {"steps": 30_000, "minutes": 19.4, "memory_bandwidth_gb_s": 1555.0}


@dataclass(frozen=True)
class Figure:
    """A number with its unit and its basis: measured (source named), assumed (why), unknown."""

    value: float | None
    unit: str
    basis: str  # measured | assumed | unknown
    source: str

    def text(self) -> str:
        """e.g. '44,385 splats/s (measured: bench/results/compress.json ...)'."""
        digits = 0 if self.value is None or abs(self.value) >= 100 else 1
        shown = "unknown" if self.value is None else f"{self.value:,.{digits}f} {self.unit}"
        return f"{shown} ({self.basis}: {self.source})"


def local_compress_speed() -> Figure:
    """SOG compression throughput on this kind of machine, from the compression benchmark."""
    b = COMPRESS_BENCH
    return Figure(b["splats"] / b["seconds"], "splats/s", "measured",
                  f"{b['file']} ({b['row']}: {b['splats']:,} splats in {b['seconds']} s on "
                  f"{b['cpus']} CPUs)")


def cloud_compress_speed(instance: InstanceType) -> Figure:
    """Compression throughput in the container: the same CPU code on the instance's vCPUs."""
    b = COMPRESS_BENCH
    scaled = b["splats"] / b["seconds"] * instance.vcpus / b["cpus"]
    return Figure(scaled, "splats/s", "assumed",
                  f"the {b['cpus']}-CPU measurement in {b['file']} scaled to the {instance.vcpus} "
                  f"vCPUs of {instance.name}, as the container runs the same CPU code (not measured there)")


def train_speed(instance: InstanceType) -> Figure:
    """gsplat training steps per second on the instance's GPU (no measurement on it yet)."""
    a = PUBLISHED_A100
    a100 = a["steps"] / (a["minutes"] * 60)
    scaled = a100 * instance.memory_bandwidth_gb_s / a["memory_bandwidth_gb_s"]
    return Figure(scaled, "steps/s", "assumed",
                  f"gsplat's published A100 figure ({a['steps']:,} steps in {a['minutes']} min) "
                  f"scaled by GPU memory bandwidth to the {instance.gpu}, not measured on it")


def job_startup() -> Figure:
    """Seconds a SageMaker job spends before its first step (provisioning, image download)."""
    return Figure(300.0, "s", "assumed", "typical SageMaker provisioning and image pull, not measured")


def bandwidth(measured_mb_s: float | None = None) -> Figure:
    """The link to S3: this run's upload throughput when one was measured, else an assumption."""
    if measured_mb_s:
        return Figure(measured_mb_s, "MB/s", "measured", "this run's upload of the SfM hand-off")
    return Figure(20.0, "MB/s", "assumed", "no upload measured yet (a 160 Mbit/s link)")


def sog_bytes(num_splats: int) -> float:
    """Size of a SOG of `num_splats`, from the benchmark's measured ratio to the PLY."""
    return num_splats * BYTES_PER_SPLAT / COMPRESS_BENCH["ratio_to_ply"]
