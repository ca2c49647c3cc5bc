"""The cost estimate a user approves before anything is uploaded (CLI prompt, --yes, the window).

`estimate_offload(settings)` needs no terminal and no network (give it a session for live
prices): the window's dialog shows the same estimate the CLI prints. Every figure says whether
it was measured (and where) or assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..settings import Settings, fingerprint
from ..train.plan import plan_for
from .costs import Price, compress_placement, hourly_price
from .figures import Figure, bandwidth, cloud_compress_speed, job_startup, train_speed
from .instances import instance_type
from .session import AwsSession


@dataclass(frozen=True)
class JobCost:
    """One SageMaker job of the offload: its instance, price and expected time (with its parts)."""

    kind: str  # train | compress
    instance: str
    price: Price
    parts: tuple[tuple[str, Figure], ...]  # what the time is made of, each with its basis
    seconds: float

    @property
    def usd(self) -> float:
        """On-demand cost of the expected time."""
        return self.price.usd_per_hour * self.seconds / 3600

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the window's dialog, --json)."""
        return {"kind": self.kind, "instance": self.instance, "usd_per_hour": self.price.usd_per_hour,
                "price_source": self.price.source, "price_date": self.price.date,
                "minutes": round(self.seconds / 60, 1), "usd": round(self.usd, 2),
                "figures": [{"name": name, "value": f.value, "unit": f.unit, "basis": f.basis,
                             "source": f.source} for name, f in self.parts]}


@dataclass(frozen=True)
class CostEstimate:
    """What the offload should cost before it starts: its jobs, where compression runs, the total."""

    run: str  # the training run, e.g. 'full training, 30000 steps at 1600 px'
    jobs: tuple[JobCost, ...]
    compression: str  # where compression runs: "in the cloud" or "here, not billed"
    compression_why: str  # the figures that decided it
    spot: bool

    @property
    def total_usd(self) -> float:
        """Sum of the jobs' on-demand costs."""
        return sum(job.usd for job in self.jobs)

    @property
    def key(self) -> str:
        """Identifies what is approved (the same estimate is asked for once per run)."""
        return fingerprint(self.to_dict())

    def lines(self) -> list[str]:
        """The estimate as lines of text (CLI and dialog alike)."""
        out = [f"Cloud offload estimate ({self.run}); nothing is uploaded before it is approved:"]
        for job in self.jobs:
            out.append(f"  {job.kind:9s} {job.instance} at {job.price.text()}: about "
                       f"{job.seconds / 60:.0f} min, about ${job.usd:.2f}")
            out += [f"            {name}: {figure.text()}" for name, figure in job.parts]
        out.append(f"  compression: {self.compression}")
        out += [f"            {part}" for part in self.compression_why.split("; ")]
        spot = "; spot prices are usually 60-90 % lower (the job may be interrupted)" if self.spot else ""
        out.append(f"  total: about ${self.total_usd:.2f} at on-demand prices{spot}")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"run": self.run, "jobs": [job.to_dict() for job in self.jobs],
                "compression": self.compression, "compression_why": self.compression_why,
                "spot": self.spot,
                "total_usd": round(self.total_usd, 2)}


def estimate_offload(settings: Settings, session: AwsSession | None = None) -> CostEstimate:
    """The estimate of training (and chained compression) in the cloud for these settings."""
    cloud = settings.cloud
    plan = plan_for(settings.train, on_gpu=True)
    train_type = instance_type(cloud.train_instance_type, "cloud.train_instance_type")
    compress_type = instance_type(cloud.compress_instance_type, "cloud.compress_instance_type")
    startup, speed = job_startup(), train_speed(train_type)
    steps = Figure(float(plan.steps), "steps", "setting", "the train settings (preset / max_steps)")
    jobs = [JobCost("train", train_type.name, hourly_price(session, train_type.name),
                    (("startup", startup), ("steps", steps), ("speed", speed)),
                    startup.value + plan.steps / speed.value)]
    where, why = compress_placement(cloud.compress_where, plan.max_gaussians, bandwidth(), compress_type)
    why = f"for at most train.max_gaussians splats: {why}" if cloud.compress_where == "auto" else why
    if where == "cloud":
        splats = Figure(float(plan.max_gaussians), "splats", "setting",
                        "at most train.max_gaussians (the trained count is known after training)")
        rate = cloud_compress_speed(compress_type)
        jobs.append(JobCost("compress", compress_type.name, hourly_price(session, compress_type.name),
                            (("startup", startup), ("splats", splats), ("speed", rate)),
                            startup.value + plan.max_gaussians / rate.value))
    return CostEstimate(plan.describe(), tuple(jobs), "in the cloud" if where == "cloud" else "here, not billed",
                        why, bool(cloud.spot))
