"""Prices per hour and where the compression should run.

Prices come from AWS's Pricing API when the profile may call it, else from the bundled table
of instances.py (its date and source are shown with every figure). The placement of the
compression compares the times the figures of figures.py give, each shown with its basis.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .figures import BYTES_PER_SPLAT, Figure, cloud_compress_speed, job_startup, local_compress_speed, sog_bytes
from .instances import INSTANCE_TYPES, PRICE_DATE, PRICE_SOURCE, InstanceType
from .session import AwsSession

MB = 1024 * 1024


@dataclass(frozen=True)
class Price:
    """An hourly price and where it came from."""

    instance: str
    usd_per_hour: float
    source: str
    date: str

    def text(self) -> str:
        """e.g. '$1.408/h (bundled table ..., 2026-11-01)'."""
        return f"${self.usd_per_hour:.3f}/h ({self.source}, {self.date})"


def hourly_price(session: AwsSession | None, instance: str) -> Price:
    """The live on-demand training price of `instance` when the Pricing API answers, else the table's."""
    if session is not None:
        try:
            live = _pricing_api(session, instance)
        except Exception:  # no permission, no network, emulator without Pricing: use the table
            live = None
        if live is not None:
            return live
    known = INSTANCE_TYPES.get(instance)
    if known is None:
        return Price(instance, float("nan"), "no price known for this instance type", PRICE_DATE)
    return Price(instance, known.usd_per_hour, PRICE_SOURCE, PRICE_DATE)


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


def compress_placement(where: str, num_splats: int | None, link: Figure,
                       instance: InstanceType) -> tuple[str, str]:
    """('cloud' | 'local', why): chain compression in the cloud only when the figures say it is faster.

    Here: download the PLY, compress at the measured speed. Cloud: a job's startup, compression
    in the container, download the SOG. Every figure is named with its basis in `why`.
    """
    if where in ("cloud", "local"):
        return where, f"cloud.compress_where is {where}"
    if num_splats is None:
        return "local", "the number of splats is unknown (the training job left no summary)"
    here, there, startup = local_compress_speed(), cloud_compress_speed(instance), job_startup()
    ply_mb = num_splats * BYTES_PER_SPLAT / MB
    local_s = ply_mb / link.value + num_splats / here.value
    cloud_s = startup.value + num_splats / there.value + sog_bytes(num_splats) / MB / link.value
    choice = "cloud" if cloud_s < local_s else "local"
    return choice, (f"{num_splats:,} splats ({ply_mb:.0f} MB PLY): about {local_s / 60:.1f} min here vs "
                    f"{cloud_s / 60:.1f} min chained in the cloud; link {link.text()}; compression "
                    f"here {here.text()}; in the cloud {there.text()}; job startup {startup.text()}")
