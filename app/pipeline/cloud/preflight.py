"""Checks before anything is uploaded: who we are, the bucket, the images, the role."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InputError
from .session import AwsSession, aws_errors, error_code

ROLE_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
IMAGE_RE = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
                      r"(?P<repo>[^:@]+)(?::(?P<tag>[^@]+)|@(?P<digest>sha256:[0-9a-f]+))?$")


@dataclass(frozen=True)
class Identity:
    """Who the session is (never the credentials themselves)."""

    account: str
    arn: str


def preflight(session: AwsSession, kinds: tuple[str, ...] = ("train",)) -> Identity:
    """Check identity, settings, bucket and images; raise InputError saying what to fix."""
    s = session.settings
    with aws_errors("checking who you are (sts:GetCallerIdentity)", s):
        ident = session.client("sts").get_caller_identity()
    if not s.bucket:
        raise InputError("No S3 bucket set for cloud jobs",
                         hint="create one in the jobs' region and set cloud.bucket to its name",
                         action="configure_cloud")
    if not ROLE_RE.match(s.role_arn or ""):
        raise InputError(f"The SageMaker execution role {s.role_arn!r} is not an IAM role ARN",
                         hint="create the role from packaging/sagemaker/iam-execution-role.json and set "
                              "cloud.role_arn to arn:aws:iam::ACCOUNT:role/NAME", action="configure_cloud")
    with aws_errors(f"checking the bucket {s.bucket}", s):
        try:
            # a listing under our prefix: the IAM policy allows no wider call on the bucket
            session.client("s3").list_objects_v2(Bucket=s.bucket, Prefix=s.prefix.strip("/") + "/", MaxKeys=1)
        except Exception as exc:
            if error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                raise InputError(f"The S3 bucket {s.bucket!r} does not exist",
                                 hint=f"create it in {s.region} or fix cloud.bucket",
                                 action="configure_cloud") from exc
            if error_code(exc) in ("403", "Forbidden", "AccessDenied"):
                raise InputError(f"No access to the S3 bucket {s.bucket!r}",
                                 hint="attach packaging/sagemaker/iam-desktop-user.json (bucket and "
                                      "prefix must match cloud.bucket / cloud.prefix)",
                                 action="configure_cloud") from exc
            raise
    with aws_errors(f"checking the region of the bucket {s.bucket}", s):
        where = session.client("s3").get_bucket_location(Bucket=s.bucket).get("LocationConstraint") or "us-east-1"
    if where != s.region:
        raise InputError(f"The S3 bucket {s.bucket!r} is in {where} but jobs run in {s.region}",
                         hint=f"SageMaker reads its inputs in its own region: set cloud.region to {where} "
                              "or use a bucket in the jobs' region", action="configure_cloud")
    for kind in kinds:
        check_image(session, kind, getattr(s, f"{kind}_image"))
    return Identity(account=str(ident.get("Account", "")), arn=str(ident.get("Arn", "")))


def image_fix(kind: str) -> str:
    """How to get a usable `kind` (train | compress) image."""
    return (f"build and push it with packaging/sagemaker/build_and_push.sh, then set "
            f"cloud.{kind}_image to ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG")


def check_image(session: AwsSession, kind: str, uri: str) -> None:
    """The image URI is an ECR image that exists (InputError otherwise)."""
    fix = image_fix(kind)
    m = IMAGE_RE.match(uri or "")
    if not m:
        raise InputError(f"The {kind} image {uri!r} is not an ECR image URI", hint=fix,
                         action="configure_cloud")
    image_id = {"imageDigest": m["digest"]} if m["digest"] else {"imageTag": m["tag"] or "latest"}
    ecr = session.boto.client("ecr", region_name=m["region"], config=session.client("sts").meta.config)
    with aws_errors(f"looking up the {kind} image {uri}", session.settings):
        try:
            ecr.describe_images(registryId=m["account"], repositoryName=m["repo"], imageIds=[image_id])
        except Exception as exc:
            if error_code(exc) in ("RepositoryNotFoundException", "ImageNotFoundException"):
                raise InputError(f"The {kind} image {uri} is not in ECR ({error_code(exc)})",
                                 hint=fix, action="configure_cloud") from exc
            raise
