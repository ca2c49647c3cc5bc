"""S3 transfer against moto: encrypted uploads, skipping what is there, resuming, downloads."""

from __future__ import annotations

import os

import pytest

from app.pipeline.cloud.part_journal import PartJournal
from app.pipeline.cloud.transfer import MB, Uploader, download
from app.pipeline.errors import Cancelled, InputError
from app.pipeline.stage import CancelToken
from cloud_moto import BUCKET, aws, moto_server  # noqa: F401


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "handoff"
    (root / "images").mkdir(parents=True)
    for i in range(4):
        (root / "images" / f"im{i}.jpg").write_bytes(os.urandom(200_000 + i))
    (root / "big.bin").write_bytes(os.urandom(24 * MB))
    (root / "empty.txt").write_bytes(b"")
    return root


def _objects(aws, prefix):
    return {o["Key"]: o["Size"] for o in aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]}


def test_an_upload_interrupted_midway_resumes_without_resending_finished_parts(aws, tree, tmp_path):
    cancel = CancelToken()
    seen: list[tuple[int, int]] = []

    def interrupt(done: int, total: int) -> None:
        seen.append((done, total))
        if done >= 12 * MB:
            cancel.cancel()

    journal = tmp_path / "uploads.json"  # kept in the project's cloud/ folder between runs
    first = Uploader(aws.s3, BUCKET, part_size=5 * MB, concurrency=2, cancel=cancel, progress=interrupt,
                     journal=PartJournal(journal))
    with pytest.raises(Cancelled):
        first.upload_tree(tree, "p/handoff")
    assert aws.s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]  # left for the next run
    assert all(total == seen[0][1] for _, total in seen) and seen[-1][0] < seen[0][1]

    summary = Uploader(aws.s3, BUCKET, part_size=5 * MB, concurrency=4,
                       journal=PartJournal(journal)).upload_tree(tree, "p/handoff")
    assert summary.bytes_sent < summary.bytes_total - 5 * MB  # finished parts were not sent again
    assert "Uploads" not in aws.s3.list_multipart_uploads(Bucket=BUCKET)
    for path in tree.rglob("*"):
        if path.is_file():
            key = f"p/handoff/{path.relative_to(tree).as_posix()}"
            body = aws.s3.get_object(Bucket=BUCKET, Key=key)
            assert body["Body"].read() == path.read_bytes()
            assert body["ServerSideEncryption"] == "AES256"


def test_files_already_in_the_bucket_are_skipped_and_changed_ones_are_sent(aws, tree):
    up = lambda: Uploader(aws.s3, BUCKET, part_size=5 * MB).upload_tree(tree, "p/h")  # noqa: E731
    first = up()
    assert first.skipped == 0 and first.bytes_sent == first.bytes_total
    assert set(_objects(aws, "p/h/")) == {"p/h/images/im0.jpg", "p/h/images/im1.jpg", "p/h/images/im2.jpg",
                                          "p/h/images/im3.jpg", "p/h/big.bin", "p/h/empty.txt"}
    again = up()
    assert again.skipped == 6 and again.bytes_sent == 0
    (tree / "images" / "im1.jpg").write_bytes(os.urandom(200_001))  # same size, new content
    changed = up()
    assert changed.skipped == 5 and changed.bytes_sent == 200_001


def test_kms_encryption_is_requested_when_a_key_is_set(aws, tree):
    Uploader(aws.s3, BUCKET, kms_key_id="alias/spaceport").upload_tree(tree / "images", "p/k")
    head = aws.s3.head_object(Bucket=BUCKET, Key="p/k/im0.jpg")
    assert head["ServerSideEncryption"] == "aws:kms"


def test_download_reports_progress_and_writes_the_file_whole(aws, tree, tmp_path):
    Uploader(aws.s3, BUCKET, part_size=5 * MB).upload_tree(tree, "p/d")
    progress: list[int] = []
    dest = tmp_path / "got" / "big.bin"
    summary = download(aws.s3, f"s3://{BUCKET}/p/d/big.bin", dest, part_size=5 * MB,
                       progress=lambda done, total: progress.append(done))
    assert dest.read_bytes() == (tree / "big.bin").read_bytes()
    assert progress[-1] == 24 * MB and summary.bytes_total == 24 * MB
    with pytest.raises(InputError, match="does not exist"):
        download(aws.s3, f"s3://{BUCKET}/p/d/missing.tar.gz", tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_uploading_a_missing_folder_says_to_run_sfm_first(aws, tmp_path):
    with pytest.raises(InputError, match="not a folder") as err:
        Uploader(aws.s3, BUCKET).upload_tree(tmp_path / "nope", "p")
    assert "sfm" in err.value.hint


def test_a_cancelled_download_leaves_no_partial_file(aws, tree, tmp_path):
    Uploader(aws.s3, BUCKET, part_size=5 * MB).upload_tree(tree, "p/c")
    cancel = CancelToken()

    def stop_midway(done: int, total: int) -> None:
        if done > 4 * MB:
            cancel.cancel()

    dest = tmp_path / "got" / "big.bin"
    with pytest.raises(Cancelled):
        download(aws.s3, f"s3://{BUCKET}/p/c/big.bin", dest, part_size=5 * MB, concurrency=2,
                 progress=stop_midway, cancel=cancel)
    assert not dest.exists() and list(dest.parent.iterdir()) == []
