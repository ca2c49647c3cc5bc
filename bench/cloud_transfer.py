"""Benchmark of the cloud offload on loopback (moto's server): transfer speed, log latency, polling cost.

    python bench/cloud_transfer.py [--mb 500] [--out bench/results/cloud_transfer.json]

Upload: a hand-off of `--mb` MB (5 MB images + one larger model file) with our concurrent,
resumable uploader vs boto3's plain `upload_file` one file after another (the baseline, same
run). Download: one `--mb` MB object with our ranged concurrent download vs one plain GET.
Log latency: time from put_log_events to the parsed event at the default tail interval.
Polling cost: DescribeTrainingJob calls per 10 s per job at the default poll interval.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import subprocess
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

BUCKET = "spaceport-bench"
MB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _use(url: str) -> None:
    os.environ.update(AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/nonexistent",
                      AWS_SHARED_CREDENTIALS_FILE="/nonexistent")


def _external_server() -> tuple[str, subprocess.Popen]:
    """moto_server in its own process: S3 on the far side of a socket, as AWS is."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/moto-api/data.json", timeout=1).read()
            return url, proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("moto_server did not start")


def _inprocess_server() -> str:
    """moto in this process: SageMaker job states can be driven through its backend."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


def _handoff(root: Path, total_mb: int) -> Path:
    images = root / "images"
    images.mkdir(parents=True)
    (root / "sparse").mkdir()
    (root / "sparse" / "points3D.bin").write_bytes(os.urandom(20 * MB))
    for i in range(max(1, (total_mb - 20) // 5)):
        (images / f"DJI_{i:04d}.JPG").write_bytes(os.urandom(5 * MB))
    return root


def bench_upload(s3, root: Path) -> dict:
    from boto3.s3.transfer import TransferConfig

    from app.pipeline.cloud.transfer import Uploader

    files = [p for p in sorted(root.rglob("*")) if p.is_file()]
    total = sum(p.stat().st_size for p in files) / MB
    start = time.perf_counter()
    for p in files:  # baseline: boto3 one file at a time, no concurrency
        s3.upload_file(str(p), BUCKET, f"base/{p.relative_to(root).as_posix()}",
                       Config=TransferConfig(use_threads=False), ExtraArgs={"ServerSideEncryption": "AES256"})
    base_s = time.perf_counter() - start
    ours = Uploader(s3, BUCKET, part_size=16 * MB, concurrency=8).upload_tree(root, "ours")
    again = Uploader(s3, BUCKET, part_size=16 * MB, concurrency=8).upload_tree(root, "ours")
    return {"mb": round(total, 1), "baseline_mb_s": round(total / base_s, 1),
            "ours_mb_s": round(ours.mb_per_s, 1), "ratio": round(ours.mb_per_s / (total / base_s), 2),
            "repeat_s": round(again.seconds, 2), "repeat_skipped": again.skipped}


def bench_download(s3, size_mb: int, tmp: Path) -> dict:
    from app.pipeline.cloud.transfer import download

    blob = tmp / "model.tar.gz"
    blob.write_bytes(os.urandom(size_mb * MB))
    s3.upload_file(str(blob), BUCKET, "out/model.tar.gz")
    start = time.perf_counter()
    body = s3.get_object(Bucket=BUCKET, Key="out/model.tar.gz")["Body"]
    with open(tmp / "base.bin", "wb") as fh:
        for chunk in iter(lambda: body.read(MB), b""):
            fh.write(chunk)
    base_s = time.perf_counter() - start
    ours = download(s3, f"s3://{BUCKET}/out/model.tar.gz", tmp / "ours.bin", concurrency=8, part_size=16 * MB)
    assert (tmp / "ours.bin").stat().st_size == size_mb * MB
    one = download(s3, f"s3://{BUCKET}/out/model.tar.gz", tmp / "one.bin", concurrency=1,
                   part_size=size_mb * MB + 1)
    return {"mb": size_mb, "baseline_mb_s": round(size_mb / base_s, 1), "ours_mb_s": round(ours.mb_per_s, 1),
            "ratio": round(ours.mb_per_s / (size_mb / base_s), 2), "ours_one_stream_mb_s": round(one.mb_per_s, 1)}


def bench_log_latency(session, lines: int = 10) -> dict:
    from app.pipeline.cloud.logs import LOG_GROUP, LogTailer, format_event, parse_line
    from app.pipeline.events import TrainMetrics

    logs, job = session.client("logs"), "spaceport-train-bench-a1"
    logs.create_log_group(logGroupName=LOG_GROUP)
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=f"{job}/algo-1-1")
    tail_s = session.settings.tail_s
    tailer = LogTailer(logs, job)
    sent: dict[int, float] = {}
    seen: dict[int, float] = {}
    stop = threading.Event()

    def follow() -> None:  # what JobTracker does between status polls
        while not stop.is_set():
            for line in tailer.poll():
                event = parse_line(line, "train")
                if isinstance(event, TrainMetrics):
                    seen[event.step] = time.perf_counter()
            stop.wait(tail_s)

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    for step in range(1, lines + 1):
        time.sleep(0.37 * (step % 3 + 1))
        sent[step] = time.perf_counter()
        logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=f"{job}/algo-1-1", logEvents=[
            {"timestamp": int(time.time() * 1000),
             "message": format_event(TrainMetrics(stage="train", step=step, loss=0.1))}])
    time.sleep(tail_s + 1)
    stop.set()
    thread.join()
    lat = [seen[s] - sent[s] for s in sent if s in seen]
    return {"tail_s": tail_s, "lines": lines, "received": len(lat), "mean_s": round(statistics.mean(lat), 3),
            "max_s": round(max(lat), 3), "log_calls": tailer.calls}


def bench_polling(session, seconds: float) -> dict:
    from cloud_moto import ROLE
    from moto.sagemaker.models import sagemaker_backends

    from app.pipeline.cloud import jobs
    from app.pipeline.cloud.records import JobBook, JobRecord
    from app.pipeline.cloud.tracker import JobTracker
    from app.pipeline.stage import CancelToken

    settings = session.settings
    settings.role_arn, settings.train_image = ROLE, "123456789012.dkr.ecr.us-east-1.amazonaws.com/t:1"
    name = jobs.job_name("train", "bench", 1)
    req = jobs.training_request(settings, name=name, kind="train", channels={"sfm": f"s3://{BUCKET}/h/"},
                                output_s3=f"s3://{BUCKET}/jobs/", checkpoint_s3=f"s3://{BUCKET}/ck/",
                                hyperparameters={"stage": "train"})
    session.client("sagemaker").create_training_job(**req)
    job_obj = sagemaker_backends["123456789012"]["us-east-1"].training_jobs[name]
    job_obj.training_job_status, job_obj.secondary_status = "InProgress", "Training"
    book = JobBook(Path(tempfile.mkdtemp()) / "jobs.json")
    record = book.add(JobRecord(kind="train", name=name, key="bench", status="InProgress"))
    tracker = JobTracker(session, book, record, lambda e: None, CancelToken(), "train")
    calls: list[float] = []
    session.client("sagemaker").meta.events.register(
        "before-call.sagemaker.DescribeTrainingJob", lambda **_: calls.append(time.perf_counter()))
    threading.Timer(seconds, lambda: setattr(job_obj, "training_job_status", "Completed")).start()
    start = time.perf_counter()
    tracker.run()
    wall = time.perf_counter() - start
    gaps = [b - a for a, b in zip(calls, calls[1:])]
    return {"poll_s": settings.poll_s, "wall_s": round(wall, 1), "describe_calls": len(calls),
            "min_gap_s": round(min(gaps), 2) if gaps else None,
            "max_calls_in_any_10s": max(sum(1 for t in calls if c <= t < c + 10) for c in calls)}


def main() -> int:
    """Run every benchmark, print a table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--poll-seconds", type=float, default=35.0)
    parser.add_argument("--out", type=Path, default=Path("bench/results/cloud_transfer.json"))
    args = parser.parse_args()
    from app.pipeline.atomic import write_json
    from app.pipeline.cloud.session import AwsSession
    from app.pipeline.cloud.settings import CloudSettings

    url, proc = _external_server()
    try:
        _use(url)
        s3 = AwsSession(CloudSettings(bucket=BUCKET)).client("s3")
        s3.create_bucket(Bucket=BUCKET)
        with tempfile.TemporaryDirectory() as tmp:
            upload = bench_upload(s3, _handoff(Path(tmp) / "handoff", args.mb))
        with tempfile.TemporaryDirectory() as tmp:
            down = bench_download(s3, args.mb, Path(tmp))
    finally:
        proc.terminate()
        proc.wait()
    _use(_inprocess_server())
    session = AwsSession(CloudSettings(bucket=BUCKET))
    session.client("s3").create_bucket(Bucket=BUCKET)
    latency = bench_log_latency(session)
    polling = bench_polling(session, args.poll_seconds)
    result = {"load_average": os.getloadavg(), "transfer_endpoint": url + " (moto_server, separate process)", "cpus": os.cpu_count(),
              "upload": upload, "download": down, "log_latency": latency, "polling": polling}
    print(f"{'measure':28s} {'baseline':>12s} {'ours':>12s} {'ratio':>7s}")
    print(f"{'upload MB/s (' + str(upload['mb']) + ' MB)':28s} {upload['baseline_mb_s']:12.1f} "
          f"{upload['ours_mb_s']:12.1f} {upload['ratio']:7.2f}")
    print(f"{'download MB/s, 8 ranges':28s} {down['baseline_mb_s']:12.1f} {down['ours_mb_s']:12.1f} {down['ratio']:7.2f}")
    print(f"{'download MB/s, 1 stream':28s} {down['baseline_mb_s']:12.1f} {down['ours_one_stream_mb_s']:12.1f} "
          f"{down['ours_one_stream_mb_s'] / down['baseline_mb_s']:7.2f}")
    print(f"{'repeat upload (all skipped)':28s} {'':12s} {upload['repeat_s']:11.2f}s")
    print(f"{'log line -> event, mean/max':28s} {'':12s} {latency['mean_s']:5.2f}/{latency['max_s']:.2f}s")
    print(f"{'DescribeTrainingJob, any 10 s':28s} {'':12s} {polling['max_calls_in_any_10s']:12d}")
    print(f"{'  shortest gap between them':28s} {'':12s} {polling['min_gap_s']:11.2f}s")
    write_json(args.out, result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
