"""Multipart uploads as real S3 answers them under SSE-KMS: ETags that are not MD5s.

moto returns MD5 ETags even with KMS, so these run on botocore's Stubber with the responses
real S3 sends (the one place the offload's tests use canned responses, as issue 11 asks).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import os

import boto3
import pytest
from botocore.stub import ANY, Stubber

from app.pipeline.cloud.part_journal import PartJournal
from app.pipeline.cloud.transfer import MB, Uploader

BUCKET, KEY, KMS = "spaceport-test", "p/handoff/points3D.bin", "alias/spaceport"
SSE = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": KMS}


def kms_etag(number: int) -> str:
    """An ETag as S3 returns it for an SSE-KMS part: 32 hex digits that are not the part's MD5."""
    return '"' + hashlib.sha1(f"kms-{number}".encode()).hexdigest()[:32] + '"'


@pytest.fixture
def s3():
    return boto3.client("s3", region_name="us-east-1", aws_access_key_id="AKIAFAKE",
                        aws_secret_access_key="fake")


@pytest.fixture
def big(tmp_path):
    path = tmp_path / "points3D.bin"
    path.write_bytes(os.urandom(12 * MB))  # three 5 MB parts (the last one shorter)
    return path


def _parts(path):
    data = path.read_bytes()
    return [data[i:i + 5 * MB] for i in range(0, len(data), 5 * MB)]


def _md5(chunk: bytes) -> str:
    return base64.b64encode(hashlib.md5(chunk).digest()).decode()


def _expect_listing(stub: Stubber, uploads: list[dict]) -> None:
    stub.add_response("list_objects_v2", {"KeyCount": 0}, {"Bucket": BUCKET, "Prefix": KEY})
    stub.add_response("list_multipart_uploads", {"Uploads": uploads} if uploads else {},
                      {"Bucket": BUCKET, "Prefix": KEY})


def _expect_part(stub: Stubber, number: int, chunk: bytes, upload_id: str) -> None:
    stub.add_response("upload_part", {"ETag": kms_etag(number), **SSE},
                      {"Bucket": BUCKET, "Key": KEY, "UploadId": upload_id, "PartNumber": number,
                       "Body": ANY, "ContentMD5": _md5(chunk)})


def _expect_complete(stub: Stubber, upload_id: str, etags: list[str]) -> None:
    stub.add_response("complete_multipart_upload", {"Bucket": BUCKET, "Key": KEY, "ETag": '"x-3"', **SSE},
                      {"Bucket": BUCKET, "Key": KEY, "UploadId": upload_id,
                       "MultipartUpload": {"Parts": [{"PartNumber": n, "ETag": e}
                                                     for n, e in enumerate(etags, start=1)]}})


def test_a_kms_upload_completes_with_the_etags_s3_returned(s3, big, tmp_path):
    chunks = _parts(big)
    journal = PartJournal(tmp_path / "uploads.json")
    with Stubber(s3) as stub:
        _expect_listing(stub, [])
        stub.add_response("create_multipart_upload", {"Bucket": BUCKET, "Key": KEY, "UploadId": "u1"},
                          {"Bucket": BUCKET, "Key": KEY, "Metadata": ANY, **SSE})
        for number, chunk in enumerate(chunks, start=1):
            _expect_part(stub, number, chunk, "u1")
        _expect_complete(stub, "u1", [kms_etag(n) for n in (1, 2, 3)])
        summary = Uploader(s3, BUCKET, kms_key_id=KMS, part_size=5 * MB, concurrency=1,
                           journal=journal).upload_files([(big, KEY)])
        stub.assert_no_pending_responses()
    assert summary.bytes_sent == 12 * MB
    assert journal.etag("u1", 1, hashlib.md5(chunks[0]).hexdigest()) is None  # completed: forgotten


def test_a_resumed_kms_upload_keeps_the_parts_s3_holds_and_resends_the_rest(s3, big, tmp_path):
    chunks = _parts(big)
    journal = PartJournal(tmp_path / "uploads.json")  # what the interrupted run wrote
    journal.record("u1", 1, hashlib.md5(chunks[0]).hexdigest(), kms_etag(1))
    journal.record("u1", 2, hashlib.md5(b"an older version of part 2").hexdigest(), kms_etag(2))
    initiated = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
    with Stubber(s3) as stub:
        _expect_listing(stub, [{"Key": KEY, "UploadId": "u1", "Initiated": initiated}])
        stub.add_response("list_parts", {"Parts": [
            {"PartNumber": 1, "ETag": kms_etag(1), "Size": 5 * MB},
            {"PartNumber": 2, "ETag": kms_etag(2), "Size": 5 * MB}]},
            {"Bucket": BUCKET, "Key": KEY, "UploadId": "u1"})
        _expect_part(stub, 2, chunks[1], "u1")  # S3 holds other bytes for part 2: sent again
        _expect_part(stub, 3, chunks[2], "u1")
        _expect_complete(stub, "u1", [kms_etag(n) for n in (1, 2, 3)])
        summary = Uploader(s3, BUCKET, kms_key_id=KMS, part_size=5 * MB, concurrency=1,
                           journal=PartJournal(tmp_path / "uploads.json")).upload_files([(big, KEY)])
        stub.assert_no_pending_responses()
    assert summary.bytes_sent == 7 * MB  # part 1 was not sent again
