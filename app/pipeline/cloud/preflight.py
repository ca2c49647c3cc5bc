"""Checks before anything is uploaded: who we are, the bucket, the images, the role.

`preflight` stops at the first failure (the offload's guard); `checklist` reports every check
with its fix (the window's Check button), going on past failures where a later check can.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from ..errors import InputError, SpaceportError
from .session import AwsSession, aws_errors, error_code
from .settings import CloudSettings

ROLE_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
CREDENTIALS = "AWS credentials"  # the first check: every AWS call needs it
IMAGE_RE = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
                      r"(?P<repo>[^:@]+)(?::(?P<tag>[^@]+)|@(?P<digest>sha256:[0-9a-f]+))?$")


@dataclass(frozen=True)
class Identity:
    """Who the session is (never the credentials themselves)."""

    account: str
    arn: str


@dataclass(frozen=True)
class Check:
    """One preflight check as a checklist shows it: passed (True), failed (False) or not checked
    (None: a check it depends on failed), with what was found or what is wrong, and the fix."""

    name: str
    ok: bool | None
    detail: str
    fix: str = ""


def preflight(session: AwsSession, kinds: tuple[str, ...] = ("train",)) -> Identity:
    """Check identity, settings, bucket and images; raise InputError saying what to fix."""
    ident = identity(session)
    for _name, step, _needs in _steps(session, session.settings, kinds):
        step()
    return ident


def checklist(settings: CloudSettings, kinds: tuple[str, ...] = ("train",)) -> list[Check]:
    """Every check's outcome, in preflight's order, going on past a failure where it can."""
    results: dict[str, Check] = {}

    def run(name: str, step: Callable[[], str], needs: tuple[str, ...]) -> None:
        failed = [n for n in needs if not results[n].ok]
        if failed:
            results[name] = Check(name, None, f"not checked: needs {' and '.join(failed)}")
            return
        try:
            results[name] = Check(name, True, step())
        except SpaceportError as exc:
            results[name] = Check(name, False, exc.message, exc.hint)

    holder: list[AwsSession] = []

    def who() -> str:
        holder.append(AwsSession(settings))
        ident = identity(holder[0])
        return f"account {ident.account} as {ident.arn}"

    run(CREDENTIALS, who, ())
    for name, step, needs in _steps(holder[0] if holder else None, settings, kinds):
        run(name, step, needs)  # a step that calls AWS needs the credentials check
    return list(results.values())


def identity(session: AwsSession) -> Identity:
    """Who the session's credentials are (sts:GetCallerIdentity)."""
    with aws_errors("checking who you are (sts:GetCallerIdentity)", session.settings):
        ident = session.client("sts").get_caller_identity()
    return Identity(account=str(ident.get("Account", "")), arn=str(ident.get("Arn", "")))


def _steps(session: AwsSession | None, s: CloudSettings, kinds: tuple[str, ...]
           ) -> list[tuple[str, Callable[[], str], tuple[str, ...]]]:
    """The checks after identity: (name, step returning what it found, checks it needs)."""
    steps: list[tuple[str, Callable[[], str], tuple[str, ...]]] = [
        ("S3 bucket set", lambda: _bucket_set(s), ()),
        ("SageMaker execution role", lambda: _role(s), ()),
        ("S3 bucket reachable", lambda: _bucket_reachable(session), (CREDENTIALS, "S3 bucket set")),
        ("S3 bucket region", lambda: _bucket_region(session), ("S3 bucket reachable",)),
    ]
    for kind in kinds:
        steps.append((f"{kind} image", lambda kind=kind: _image(session, kind), (CREDENTIALS,)))
    return steps


def _bucket_set(s: CloudSettings) -> str:
    if not s.bucket:
        raise InputError("No S3 bucket set for cloud jobs",
                         hint="create one in the jobs' region and set cloud.bucket to its name",
                         action="configure_cloud")
    return s.bucket


def _role(s: CloudSettings) -> str:
    if not ROLE_RE.match(s.role_arn or ""):
        raise InputError(f"The SageMaker execution role {s.role_arn!r} is not an IAM role ARN",
                         hint="create the role from packaging/sagemaker/iam-execution-role.json and set "
                              "cloud.role_arn to arn:aws:iam::ACCOUNT:role/NAME", action="configure_cloud")
    return s.role_arn


def _bucket_reachable(session: AwsSession) -> str:
    s = session.settings
    prefix = s.prefix.strip("/") + "/"
    with aws_errors(f"checking the bucket {s.bucket}", s):
        try:
            # a listing under our prefix: the IAM policy allows no wider call on the bucket
            session.client("s3").list_objects_v2(Bucket=s.bucket, Prefix=prefix, MaxKeys=1)
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
    return f"s3://{s.bucket}/{prefix} can be listed"


def _bucket_region(session: AwsSession) -> str:
    s = session.settings
    with aws_errors(f"checking the region of the bucket {s.bucket}", s):
        where = session.client("s3").get_bucket_location(Bucket=s.bucket).get("LocationConstraint") or "us-east-1"
    if where != s.region:
        raise InputError(f"The S3 bucket {s.bucket!r} is in {where} but jobs run in {s.region}",
                         hint=f"SageMaker reads its inputs in its own region: set cloud.region to {where} "
                              "or use a bucket in the jobs' region", action="configure_cloud")
    return f"{where}, where the jobs run"


def _image(session: AwsSession, kind: str) -> str:
    uri = getattr(session.settings, f"{kind}_image")
    check_image(session, kind, uri)
    return uri


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
