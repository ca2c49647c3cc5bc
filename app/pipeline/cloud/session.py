"""The boto3 session (profile, SSO, default chain), its clients, and AWS errors made actionable.

Credentials stay inside boto3: nothing here reads, stores or logs a key or a token.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator
from urllib.parse import urlparse

import boto3
import botocore.exceptions as bx
from botocore.config import Config

from ..errors import InputError, SpaceportError, StageError
from .instances import offered
from .settings import CloudSettings

THROTTLING = {"Throttling", "ThrottlingException", "TooManyRequestsException", "SlowDown",
              "RequestLimitExceeded", "ProvisionedThroughputExceededException"}
DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
EXPIRED = {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException"}
_RETRIES = Config(retries={"mode": "standard", "max_attempts": 6},
                  connect_timeout=10, read_timeout=60, max_pool_connections=32)
# S3: we send Content-MD5 ourselves (it is also what resuming compares), so no extra CRC pass
_S3 = _RETRIES.merge(Config(request_checksum_calculation="when_required"))
_ONE_TRY = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=5, read_timeout=10)
OPTIONAL = {"pricing"}  # nice to have: one quick try, then the bundled fallback


class TransientAwsError(StageError):
    """Throttling or a network hiccup: worth retrying later (the job keeps running meanwhile)."""


class AwsSession:
    """One boto3 session for a project's cloud settings, with clients cached per service."""

    def __init__(self, settings: CloudSettings, clients: dict[str, Any] | None = None) -> None:
        self.settings = settings
        with aws_errors("opening the AWS session", settings):
            self.boto = boto3.Session(profile_name=settings.profile or None,
                                      region_name=settings.region or None)
        self._clients: dict[str, Any] = dict(clients or {})  # pre-built ones (e.g. with a Stubber)

    def client(self, service: str) -> Any:
        """A botocore client for `service` in the settings' region (standard retries)."""
        if service not in self._clients:
            region = "us-east-1" if service == "pricing" else self.settings.region
            with aws_errors(f"creating the {service} client"):
                config = _ONE_TRY if service in OPTIONAL else _S3 if service == "s3" else _RETRIES
                self._clients[service] = self.boto.client(service, region_name=region, config=config)
        return self._clients[service]

    def endpoint_note(self) -> str:
        """A line naming the endpoint when it is not AWS's (an emulator or a proxy), else ''."""
        url = self.client("sagemaker").meta.endpoint_url
        host = urlparse(url).hostname or ""
        if host.endswith(".amazonaws.com") or host.endswith(".amazonaws.com.cn"):
            return ""
        return f"AWS calls go to {url}, which is not an AWS endpoint"


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError ('' for anything else)."""
    if isinstance(exc, bx.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


@contextlib.contextmanager
def aws_errors(what: str, settings: CloudSettings | None = None) -> Iterator[None]:
    """Turn botocore failures raised inside the block into SpaceportErrors that say what to fix."""
    try:
        yield
    except SpaceportError:
        raise
    except bx.BotoCoreError as exc:
        raise translate(exc, what, settings) from exc
    except bx.ClientError as exc:
        raise translate(exc, what, settings) from exc


def translate(exc: Exception, what: str, settings: CloudSettings | None = None) -> SpaceportError:
    """The operator-facing error for a botocore exception raised while doing `what`."""
    profile = (settings.profile if settings else None) or "default"
    if isinstance(exc, bx.ProfileNotFound):
        return InputError(f"AWS profile {profile!r} does not exist ({what})",
                          hint="create it with `aws configure sso --profile NAME` (or `aws configure`), "
                               "or choose another in cloud.profile", action="configure_cloud")
    if isinstance(exc, (bx.SSOTokenLoadError, bx.UnauthorizedSSOTokenError, bx.TokenRetrievalError)):
        return InputError(f"The AWS SSO session of profile {profile!r} has expired ({what})",
                          hint=f"run `aws sso login --profile {profile}` and try again")
    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError)):
        return InputError(f"No AWS credentials found ({what})",
                          hint="set up a profile with `aws configure sso` and choose it in "
                               "cloud.profile", action="configure_cloud")
    if isinstance(exc, bx.NoRegionError):
        return InputError(f"No AWS region set ({what})", hint="set cloud.region (e.g. us-east-1)",
                          action="configure_cloud")
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ReadTimeoutError)):
        return TransientAwsError(f"Cannot reach AWS while {what}: {exc}",
                          hint="check the network connection; resuming follows the job again",
                          action="rerun")
    code = error_code(exc)
    message = exc.response.get("Error", {}).get("Message", "") if isinstance(exc, bx.ClientError) else str(exc)
    if code in THROTTLING:
        return TransientAwsError(f"AWS is throttling requests while {what} ({code})",
                          hint="wait a minute and resume; the job itself keeps running",
                          action="rerun")
    if code == "ResourceLimitExceeded":
        return StageError(f"AWS account quota reached while {what}: {message}",
                          hint="request a higher quota for the instance type 'for training job usage' "
                               "in the Service Quotas console, stop other jobs, or set "
                               f"cloud.train_instance_type / cloud.compress_instance_type to {offered()} "
                               "(the types the shipped IAM policy allows)", action="configure_cloud")
    if code in DENIED:
        return InputError(f"AWS denied {what}: {message}",
                          hint="attach packaging/sagemaker/iam-desktop-user.json to your user or role "
                               "(bucket and prefix must match cloud.bucket / cloud.prefix)",
                          action="configure_cloud")
    if code in EXPIRED:
        return InputError(f"AWS rejected the credentials while {what} ({code})",
                          hint=f"refresh them (`aws sso login --profile {profile}`) and try again")
    return StageError(f"AWS call failed while {what}: {code or type(exc).__name__}: {message}",
                      hint="check the cloud settings and try again", action="rerun")
