"""S3 transfer: upload a folder (SSE, skip what is there, resume multipart), download with progress.

Uploads are hand-written on the low-level client because s3transfer cannot resume an interrupted
multipart upload; the state to resume from is S3's own (list_multipart_uploads / list_parts),
matched to what we sent by the part journal (part_journal.py), so a crash loses at most the
parts in flight. Every body goes with its Content-MD5 (S3 refuses bytes that do not match it);
completion names each part by the ETag S3 returned for it, never by an MD5 (with SSE-KMS an
ETag is not one). Downloads use s3transfer (ranged, concurrent).
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from boto3.s3.transfer import TransferConfig

from .. import atomic
from ..errors import Cancelled, InputError
from ..cancel import CancelToken
from .part_journal import PartJournal
from .session import aws_errors, error_code

ProgressFn = Callable[[int, int], None]  # (bytes done, bytes total)
MB = 1024 * 1024


@dataclass
class TransferSummary:
    """What an upload or download did."""

    files: int = 0
    skipped: int = 0
    bytes_total: int = 0
    bytes_sent: int = 0
    seconds: float = 0.0
    keys: list[str] = field(default_factory=list)

    @property
    def mb_per_s(self) -> float:
        """Throughput of the bytes actually moved."""
        return self.bytes_sent / MB / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _File:
    path: Path
    key: str
    size: int
    part_md5: list[bytes] = field(default_factory=list)
    upload_id: str = ""
    part_etags: dict[int, str] = field(default_factory=dict)  # as S3 returned (or listed) them

    def etag(self, multipart: bool) -> str:
        if not multipart:
            return self.part_md5[0].hex()
        return hashlib.md5(b"".join(self.part_md5), usedforsecurity=False).hexdigest() + f"-{len(self.part_md5)}"


def sse_args(kms_key_id: str | None) -> dict[str, str]:
    """Server-side encryption arguments for every object we write."""
    if kms_key_id:
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
    return {"ServerSideEncryption": "AES256"}


def split_uri(uri: str) -> tuple[str, str]:
    """('bucket', 'key') of an s3:// URI."""
    if not uri.startswith("s3://"):
        raise InputError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


class Uploader:
    """Uploads a local folder under an S3 prefix, concurrently, resuming what a previous run left."""

    def __init__(self, s3: Any, bucket: str, *, kms_key_id: str | None = None, part_size: int = 16 * MB,
                 concurrency: int = 8, cancel: CancelToken | None = None,
                 progress: ProgressFn | None = None, journal: PartJournal | None = None) -> None:
        self.s3, self.bucket = s3, bucket
        self.sse = sse_args(kms_key_id)
        self.part_size = max(5 * MB, part_size)  # S3's minimum part size
        self.concurrency = max(1, concurrency)
        self.cancel = cancel or CancelToken()
        self.progress = progress or (lambda done, total: None)
        self.journal = journal or PartJournal()
        self._lock = threading.Lock()
        self._done = 0
        self._total = 0
        self._sent = 0

    def upload_tree(self, root: Path, prefix: str) -> TransferSummary:
        """Upload every file below `root` to s3://bucket/prefix/<relative path>."""
        root = Path(root)
        if not root.is_dir():
            raise InputError(f"Nothing to upload: {root} is not a folder", path=root,
                             hint="run the sfm stage first")
        prefix = prefix.strip("/")
        return self.upload_files([(p, f"{prefix}/{p.relative_to(root).as_posix()}")
                                  for p in sorted(root.rglob("*")) if p.is_file()])

    def upload_files(self, pairs: list[tuple[Path, str]]) -> TransferSummary:
        """Upload (local file, key) pairs, skipping objects already there with the same content."""
        start = time.perf_counter()
        files = [_File(p, key, p.stat().st_size) for p, key in pairs]
        self._total = sum(f.size for f in files)
        summary = TransferSummary(files=len(files), bytes_total=self._total, keys=[f.key for f in files])
        prefix = os.path.commonpath([f.key for f in files]) if files else ""
        with aws_errors(f"listing s3://{self.bucket}/{prefix}"):
            remote = self._listing(prefix)
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="s3-up") as pool:
            self._run(pool, [lambda f=f: self._hash(f) for f in files])
            todo = []
            for f in files:
                if self._is_there(f, remote.get(f.key)):
                    summary.skipped += 1
                    self._advance(f.size, sent=False)
                else:
                    todo.append(f)
            small = [f for f in todo if len(f.part_md5) == 1]
            large = [f for f in todo if len(f.part_md5) > 1]
            self._run(pool, [lambda f=f: self._put(f) for f in small]
                      + [task for f in large for task in self._multipart_tasks(f)])
            self._run(pool, [lambda f=f: self._complete(f) for f in large])
        summary.bytes_sent = self._sent
        summary.seconds = time.perf_counter() - start
        return summary

    # -- planning ------------------------------------------------------------------------------
    def _listing(self, prefix: str) -> dict[str, tuple[int, str]]:
        found: dict[str, tuple[int, str]] = {}
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        for page in pages:
            for obj in page.get("Contents", []):
                found[obj["Key"]] = (obj["Size"], obj["ETag"].strip('"'))
        return found

    def _hash(self, f: _File) -> None:
        with open(f.path, "rb") as fh:
            while True:
                chunk = fh.read(self.part_size)
                if not chunk and f.part_md5:
                    break
                f.part_md5.append(hashlib.md5(chunk, usedforsecurity=False).digest())
                if len(chunk) < self.part_size:
                    break

    def _is_there(self, f: _File, remote: tuple[int, str] | None) -> bool:
        if remote is None or remote[0] != f.size:
            return False
        etag = f.etag(len(f.part_md5) > 1)
        if remote[1] == etag:
            return True
        with aws_errors(f"checking s3://{self.bucket}/{f.key}"):  # SSE-KMS: ETag is not an MD5
            head = self.s3.head_object(Bucket=self.bucket, Key=f.key)
        return head.get("Metadata", {}).get("spaceport-etag") == etag

    # -- sending -------------------------------------------------------------------------------
    def _put(self, f: _File) -> None:
        body = f.path.read_bytes()
        with aws_errors(f"uploading {f.path}"):
            self.s3.put_object(Bucket=self.bucket, Key=f.key, Body=body,
                               ContentMD5=base64.b64encode(f.part_md5[0]).decode(),
                               Metadata={"spaceport-etag": f.etag(False)}, **self.sse)
        self._advance(f.size)

    def _multipart_tasks(self, f: _File) -> list[Callable[[], None]]:
        with aws_errors(f"resuming the upload of {f.path}"):
            upload_id, have = self._resume_point(f)
        f.upload_id = upload_id
        tasks = []
        for number, md5 in enumerate(f.part_md5, start=1):
            length = min(self.part_size, f.size - (number - 1) * self.part_size)
            listed = have.get(number)
            if listed is not None and listed == self.journal.etag(upload_id, number, md5.hex()):
                f.part_etags[number] = listed  # S3 holds the bytes we sent for this part
                self._advance(length, sent=False)
                continue
            tasks.append(lambda f=f, n=number, md5=md5, length=length: self._part(f, n, md5, length))
        return tasks

    def _resume_point(self, f: _File) -> tuple[str, dict[int, str]]:
        uploads = self.s3.list_multipart_uploads(Bucket=self.bucket, Prefix=f.key).get("Uploads", [])
        uploads = sorted((u for u in uploads if u["Key"] == f.key), key=lambda u: u["Initiated"])
        for stale in uploads[:-1]:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=f.key, UploadId=stale["UploadId"])
            self.journal.forget(stale["UploadId"])
        if uploads:
            upload_id = uploads[-1]["UploadId"]
            have: dict[int, str] = {}
            pages = self.s3.get_paginator("list_parts").paginate(Bucket=self.bucket, Key=f.key,
                                                                 UploadId=upload_id)
            for page in pages:
                for part in page.get("Parts", []):
                    have[part["PartNumber"]] = part["ETag"]
            return upload_id, have
        created = self.s3.create_multipart_upload(Bucket=self.bucket, Key=f.key,
                                                  Metadata={"spaceport-etag": f.etag(True)}, **self.sse)
        return created["UploadId"], {}

    def _part(self, f: _File, number: int, md5: bytes, length: int) -> None:
        with open(f.path, "rb") as fh:
            fh.seek((number - 1) * self.part_size)
            body = fh.read(length)
        with aws_errors(f"uploading part {number} of {f.path}"):
            sent = self.s3.upload_part(Bucket=self.bucket, Key=f.key, UploadId=f.upload_id,
                                       PartNumber=number, Body=body,
                                       ContentMD5=base64.b64encode(md5).decode())
        f.part_etags[number] = sent["ETag"]
        self.journal.record(f.upload_id, number, md5.hex(), sent["ETag"])
        self._advance(length)

    def _complete(self, f: _File) -> None:
        parts = [{"PartNumber": n, "ETag": f.part_etags[n]} for n in range(1, len(f.part_md5) + 1)]
        with aws_errors(f"completing the upload of {f.path}"):
            self.s3.complete_multipart_upload(Bucket=self.bucket, Key=f.key,
                                              UploadId=f.upload_id,
                                              MultipartUpload={"Parts": parts})
        self.journal.forget(f.upload_id)

    # -- mechanism -----------------------------------------------------------------------------
    def _advance(self, nbytes: int, sent: bool = True) -> None:
        with self._lock:
            self._done += nbytes
            if sent:
                self._sent += nbytes
            done, total = self._done, self._total
        self.progress(done, total)

    def _run(self, pool: ThreadPoolExecutor, tasks: list[Callable[[], None]]) -> None:
        """Run tasks on the pool; stop submitting on cancel or the first error, then re-raise it."""
        futures: set[Future] = set()
        for task in tasks:
            if self.cancel.cancelled:
                break
            futures.add(pool.submit(self._guarded, task))
            if len(futures) >= self.concurrency * 2:
                done, futures = wait(futures, return_when=FIRST_EXCEPTION)
                _raise_first(done)
        done, _ = wait(futures)
        _raise_first(done)
        self.cancel.check()

    def _guarded(self, task: Callable[[], None]) -> None:
        if not self.cancel.cancelled:
            task()


def _raise_first(done: set[Future]) -> None:
    for fut in done:
        exc = fut.exception()
        if exc is not None:
            raise exc


def download(s3: Any, uri: str, dest: Path, *, concurrency: int = 8, part_size: int = 16 * MB,
             progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> TransferSummary:
    """Download one object to `dest` atomically (ranged, concurrent GETs) with progress."""
    bucket, key = split_uri(uri)
    cancel = cancel or CancelToken()
    start = time.perf_counter()
    with aws_errors(f"looking up {uri}"):
        try:
            size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
        except Exception as exc:
            if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                raise InputError(f"The job output {uri} does not exist",
                                 hint="the job ended without writing its model; see its log") from exc
            raise
    done = 0
    lock = threading.Lock()

    def callback(nbytes: int) -> None:
        nonlocal done
        if cancel.cancelled:
            raise Cancelled()  # s3transfer aborts the transfer and cleans its temp file
        with lock:
            done += nbytes
        if progress:
            progress(done, size)

    chunk = max(part_size, -(-size // max(1, concurrency)))  # one range per connection at most
    config = TransferConfig(max_concurrency=concurrency, multipart_chunksize=chunk,
                            multipart_threshold=part_size)
    with atomic.atomic_path(dest) as tmp, aws_errors(f"downloading {uri}"):
        s3.download_file(bucket, key, str(tmp), Callback=callback, Config=config)
    return TransferSummary(files=1, bytes_total=size, bytes_sent=size,
                           seconds=time.perf_counter() - start, keys=[key])
