"""One list of SageMaker instance types: the ones offered are the ones priced, allowed by the
shipped IAM policy and named in every hint."""

from __future__ import annotations

import json
import re
from pathlib import Path

from botocore.exceptions import ClientError

from app.pipeline.cloud.costs import hourly_price
from app.pipeline.cloud.instances import INSTANCE_TYPES, offered
from app.pipeline.cloud.session import translate
from app.pipeline.cloud.settings import CloudSettings

ROOT = Path(__file__).resolve().parents[1]


def test_the_iam_policy_allows_exactly_the_types_offered():
    statements = json.loads((ROOT / "packaging" / "sagemaker" / "iam-desktop-user.json").read_text())["Statement"]
    create = next(s for s in statements if "sagemaker:CreateTrainingJob" in s["Action"])
    assert create["Condition"]["ForAllValues:StringEquals"]["sagemaker:InstanceTypes"] == list(INSTANCE_TYPES)


def test_every_type_offered_is_priced_and_the_defaults_are_offered():
    for name, kind in INSTANCE_TYPES.items():
        price = hourly_price(None, name)
        assert price.usd_per_hour == kind.usd_per_hour > 0 and price.date and price.source
    settings = CloudSettings()
    assert {settings.train_instance_type, settings.compress_instance_type} <= set(INSTANCE_TYPES)


def test_no_other_module_names_an_instance_type():
    pattern = re.compile(r"ml\.[a-z0-9]+\.[a-z0-9]*xlarge")
    named = {p.relative_to(ROOT).as_posix(): pattern.findall(p.read_text())
             for p in (ROOT / "app").rglob("*.py")}
    assert {path for path, found in named.items() if found} == {"app/pipeline/cloud/instances.py"}


def test_the_quota_hint_names_the_types_the_policy_allows():
    exc = ClientError({"Error": {"Code": "ResourceLimitExceeded", "Message": "quota"}}, "CreateTrainingJob")
    error = translate(exc, "starting the job", CloudSettings())
    assert offered() == "ml.g5.xlarge or ml.g4dn.xlarge"
    assert offered() in error.hint and "IAM policy" in error.hint and "--set" not in error.hint
    assert error.action == "configure_cloud"
