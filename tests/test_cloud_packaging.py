"""The IAM policies shipped for the offload are least-privilege in the ways the docs promise."""

from __future__ import annotations

import json
from pathlib import Path

PACKAGING = Path(__file__).resolve().parents[1] / "packaging" / "sagemaker"


def _statements(name: str) -> list[dict]:
    return json.loads((PACKAGING / name).read_text())["Statement"]


def test_the_desktop_user_may_pass_the_role_to_sagemaker_only_and_launch_only_two_gpu_types():
    stmts = _statements("iam-desktop-user.json")
    passrole = [s for s in stmts if s["Action"] == "iam:PassRole"]
    assert len(passrole) == 1 and "*" not in passrole[0]["Resource"]
    assert passrole[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    create = next(s for s in stmts if "sagemaker:CreateTrainingJob" in s["Action"])
    assert create["Condition"]["ForAllValues:StringEquals"]["sagemaker:InstanceTypes"] == \
        ["ml.g5.xlarge", "ml.g4dn.xlarge"]
    assert create["Resource"].endswith(":training-job/spaceport-*")


def test_s3_access_is_limited_to_the_bucket_prefix_in_both_policies():
    for name in ("iam-desktop-user.json", "iam-execution-role.json"):
        for s in _statements(name):
            actions = [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
            if any(a.startswith("s3:") for a in actions):
                assert s["Resource"] in ("arn:aws:s3:::BUCKET/PREFIX/*", "arn:aws:s3:::BUCKET"), name
                if s["Resource"] == "arn:aws:s3:::BUCKET" and actions != ["s3:GetBucketLocation"]:
                    assert s["Condition"]["StringLike"]["s3:prefix"] == ["PREFIX/*"], name
            if s["Effect"] == "Allow" and s["Resource"] == "*":
                assert actions in (["ecr:GetAuthorizationToken"], ["pricing:GetProducts"],
                                   ["cloudwatch:PutMetricData"]), (name, actions)


def test_the_entrypoint_is_exec_form_and_named_train():
    dockerfile = (PACKAGING / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["python", "/usr/local/bin/train"]' in dockerfile
    assert "TORCH_CUDA_ARCH_LIST" in dockerfile
    assert (PACKAGING / "train").stat().st_mode & 0o111
