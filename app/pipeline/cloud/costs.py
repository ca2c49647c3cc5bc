"""Cost and time estimates before a job starts, and where the compression should run.

Prices come from AWS's Pricing API when the profile may call it, else from the bundled table
(its date and source are shown with every estimate). Times are rough planning figures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .session import AwsSession

PRICE_TABLE = {  # on-demand SageMaker training, USD per hour
    "date": "2026-11-01",
    "source": "bundled table (third-party listings of us-east-1 on-demand training prices)",
    "region": "us-east-1",
    "usd_per_hour": {"ml.g5.xlarge": 1.408, "ml.g4dn.xlarge": 0.736, "ml.c6i.2xlarge": 0.408},
}
STARTUP_S = 300.0  # instance provisioning + image download before the first step (typical)
TRAIN_IT_PER_S = {"ml.g5.xlarge": 25.0, "ml.g4dn.xlarge": 10.0}  # gsplat, a few million splats
STEPS_BY_PRESET = {"preview": 7000, "standard": 30000}
BYTES_PER_SPLAT = 62 * 4  # standard 3DGS PLY row with degree-3 SH
SOG_RATIO = 0.07  # SOG is ~14x smaller than the PLY
LOCAL_COMPRESS_SPLATS_PER_S = 150_000.0  # CPU k-means + WebP encode, order of magnitude
CLOUD_COMPRESS_SPLATS_PER_S = 1_500_000.0


@dataclass(frozen=True)
class Price:
    """An hourly price and where it came from."""

    instance: str
    usd_per_hour: float
    source: str
    date: str


@dataclass(frozen=True)
class Estimate:
    """What a job should cost and take before it starts."""

    instance: str
    seconds: float
    usd: float
    price: Price
    spot: bool

    def text(self) -> str:
        """One line for the operator."""
        spot = " on-demand price; spot is usually 60-90 % less" if self.spot else ""
        return (f"{self.instance}: about {self.seconds / 60:.0f} min, about ${self.usd:.2f}{spot} "
                f"(${self.price.usd_per_hour:.3f}/h, {self.price.source}, {self.price.date})")


def hourly_price(session: AwsSession | None, instance: str) -> Price:
    """The live on-demand training price of `instance` when the Pricing API answers, else the table's."""
    if session is not None:
        try:
            live = _pricing_api(session, instance)
        except Exception:  # no permission, no network, emulator without Pricing: use the table
            live = None
        if live is not None:
            return live
    usd = PRICE_TABLE["usd_per_hour"].get(instance)  # type: ignore[union-attr]
    if usd is None:
        return Price(instance, float("nan"), "no price known for this instance type", PRICE_TABLE["date"])  # type: ignore[arg-type]
    return Price(instance, usd, str(PRICE_TABLE["source"]), str(PRICE_TABLE["date"]))


def _pricing_api(session: AwsSession, instance: str) -> Price | None:
    pricing = session.client("pricing")
    resp = pricing.get_products(ServiceCode="AmazonSageMaker", MaxResults=100, Filters=[
        {"Type": "TERM_MATCH", "Field": "instanceName", "Value": instance},
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": session.settings.region},
    ])
    for item in resp.get("PriceList", []):
        product = json.loads(item) if isinstance(item, str) else item
        usage = product.get("product", {}).get("attributes", {}).get("usagetype", "")
        if "Train" not in usage:
            continue
        for term in product.get("terms", {}).get("OnDemand", {}).values():
            for dim in term.get("priceDimensions", {}).values():
                usd = float(dim.get("pricePerUnit", {}).get("USD", "nan"))
                if usd > 0:
                    date = str(term.get("effectiveDate", ""))[:10]
                    return Price(instance, usd, "AWS Pricing API", date)
    return None


def train_steps(train_settings: Any) -> int:
    """Training steps the settings ask for (their total_steps(), else the preset's)."""
    if hasattr(train_settings, "total_steps"):
        return int(train_settings.total_steps())
    return STEPS_BY_PRESET.get(getattr(train_settings, "preset", "standard"), 30000)


def estimate_training(session: AwsSession | None, instance: str, steps: int, upload_bytes: int,
                      spot: bool, bandwidth_mb_s: float = 20.0) -> Estimate:
    """Time (upload + startup + steps) and on-demand cost of a training job."""
    price = hourly_price(session, instance)
    job_s = STARTUP_S + steps / TRAIN_IT_PER_S.get(instance, 10.0)
    upload_s = upload_bytes / (bandwidth_mb_s * 1024 * 1024)
    return Estimate(instance, upload_s + job_s, price.usd_per_hour * job_s / 3600, price, spot)


def compress_placement(where: str, num_splats: int, bandwidth_mb_s: float) -> tuple[str, str]:
    """('cloud' | 'local', why): chain compression in the cloud unless running it here is faster."""
    if where in ("cloud", "local"):
        return where, f"cloud.compress_where={where}"
    ply_mb = num_splats * BYTES_PER_SPLAT / 1024 / 1024
    bw = max(bandwidth_mb_s, 0.1)
    local_s = ply_mb / bw + num_splats / LOCAL_COMPRESS_SPLATS_PER_S
    cloud_s = STARTUP_S + num_splats / CLOUD_COMPRESS_SPLATS_PER_S + ply_mb * SOG_RATIO / bw
    choice = "cloud" if cloud_s < local_s else "local"
    return choice, (f"{num_splats} splats ({ply_mb:.0f} MB PLY) at {bw:.1f} MB/s: about "
                    f"{local_s / 60:.1f} min here vs {cloud_s / 60:.1f} min chained in the cloud")
