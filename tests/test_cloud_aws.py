"""The AWS-facing pieces: job names and requests, errors that say what to fix, preflight, prices, logs."""

from __future__ import annotations

import json

import pytest
from botocore.stub import Stubber

from app.pipeline.cloud import jobs
from app.pipeline.cloud.costs import compress_placement, hourly_price
from app.pipeline.cloud.figures import bandwidth
from app.pipeline.cloud.instances import INSTANCE_TYPES, PRICE_DATE
from app.pipeline.cloud.logs import LogTailer, format_event, parse_line
from app.pipeline.cloud.preflight import preflight
from app.pipeline.cloud.records import JobBook, JobRecord
from app.pipeline.cloud.session import AwsSession
from app.pipeline.cloud.settings import CloudSettings
from app.pipeline.cloud.tracker import JobTracker
from app.pipeline.errors import InputError, StageError
from app.pipeline.events import CloudJobStatus, Log, TrainMetrics
from app.pipeline.stage import CancelToken
from cloud_moto import BUCKET, COMPRESS_IMAGE, ROLE, TRAIN_IMAGE, aws, moto_server  # noqa: F401


def _settings(**overrides) -> CloudSettings:
    s = CloudSettings(bucket=BUCKET, role_arn=ROLE, train_image=TRAIN_IMAGE, compress_image=COMPRESS_IMAGE,
                      poll_s=0.05, tail_s=0.05)
    for key, value in overrides.items():
        setattr(s, key, value)
    return s


def _request(name: str = "spaceport-train-0123456789abcdef-a1", **overrides) -> dict:
    return jobs.training_request(_settings(**overrides), name=name, kind="train",
                                 channels={"sfm": f"s3://{BUCKET}/p/handoff/"}, output_s3=f"s3://{BUCKET}/p/jobs/",
                                 checkpoint_s3=f"s3://{BUCKET}/p/ckpt/", hyperparameters={"stage": "train", "n": 3})


def _described(name: str, status: str, secondary: str) -> dict:
    return {"TrainingJobName": name, "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
            "AlgorithmSpecification": {"TrainingInputMode": "File"}, "RoleArn": ROLE,
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/p/jobs/"}, "ResourceConfig": {"VolumeSizeInGB": 50},
            "StoppingCondition": {}, "CreationTime": 0, "TrainingJobStatus": status, "SecondaryStatus": secondary,
            "ModelArtifacts": {"S3ModelArtifacts": f"s3://{BUCKET}/p/jobs/{name}/output/model.tar.gz"}}


def test_job_names_are_deterministic_valid_and_change_with_inputs_or_attempt():
    name = jobs.job_name("train", "key-1", 1)
    assert name == jobs.job_name("train", "key-1", 1)
    assert len({name, jobs.job_name("train", "key-2", 1), jobs.job_name("train", "key-1", 2)}) == 3
    assert jobs.NAME_RE.match(name) and len(name) <= 63


def test_the_request_carries_string_hyperparameters_checkpoints_and_no_spot_by_default():
    req = _request()
    assert req["HyperParameters"] == {"stage": "train", "n": "3"}
    assert req["ResourceConfig"] == {"InstanceType": "ml.g5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 50}
    assert req["CheckpointConfig"] == {"S3Uri": f"s3://{BUCKET}/p/ckpt/", "LocalPath": "/opt/ml/checkpoints"}
    assert req["EnableManagedSpotTraining"] is False and "MaxWaitTimeInSeconds" not in req["StoppingCondition"]
    assert all(len(d["Regex"]) < 100 for d in req["AlgorithmSpecification"]["MetricDefinitions"])
    with pytest.raises(InputError, match="No container image") as err:
        _request(train_image="")
    assert "build_and_push" in err.value.hint


def test_launching_twice_under_one_name_creates_one_job(aws):
    sm = AwsSession(_settings()).client("sagemaker")
    req = _request()
    first, second = jobs.create(sm, req), jobs.create(sm, req)
    assert first["TrainingJobArn"] == second["TrainingJobArn"]
    assert list(aws.backend().training_jobs) == [req["TrainingJobName"]]  # moto itself accepts duplicates
    assert jobs.describe(sm, "spaceport-train-ffffffffffffffff-a1") is None


def test_a_quota_error_names_the_quota_to_raise():
    session = AwsSession(_settings())
    sm = session.client("sagemaker")
    with Stubber(sm) as stub:
        stub.add_client_error("describe_training_job", "ValidationException", "Requested resource not found.")
        stub.add_client_error("create_training_job", "ResourceLimitExceeded",
                              "The account-level service limit 'ml.g5.xlarge for training job usage' is 0")
        with pytest.raises(StageError, match="quota reached") as err:
            jobs.create(sm, _request())
    assert "Service Quotas" in err.value.hint and "train_instance_type" in err.value.hint


def test_throttled_status_polls_back_off_and_the_job_is_still_followed(aws, tmp_path):
    session = AwsSession(_settings())
    sm = session.client("sagemaker")
    name = "spaceport-train-0123456789abcdef-a1"
    events: list = []
    book = JobBook(tmp_path / "jobs.json")
    job = book.add(JobRecord(kind="train", name=name, key="k", status="InProgress", secondary_status="Starting"))
    with Stubber(sm) as stub:
        stub.add_client_error("describe_training_job", "ThrottlingException", "Rate exceeded", 400)
        stub.add_response("describe_training_job", _described(name, "InProgress", "Training"))
        stub.add_client_error("describe_training_job", "ThrottlingException", "Rate exceeded", 400)
        stub.add_response("describe_training_job", _described(name, "Completed", "Completed"))
        desc = JobTracker(session, book, job, events.append, CancelToken(), "train").run()
    assert desc["TrainingJobStatus"] == "Completed"
    assert [e.secondary_status for e in events if isinstance(e, CloudJobStatus)] == ["Training", "Completed"]
    warnings = [e.text for e in events if isinstance(e, Log) and e.level == "warning"]
    assert len(warnings) == 2 and "throttling" in warnings[0]
    assert JobBook.load(book.path).jobs[0].status == "Completed"


def test_a_missing_profile_says_how_to_create_one(monkeypatch):
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(InputError, match="profile 'nope' does not exist") as err:
        AwsSession(_settings(profile="nope"))
    assert "aws configure sso" in err.value.hint


def test_preflight_names_the_setting_to_fix(aws):
    ident = preflight(AwsSession(_settings()), ("train", "compress"))
    assert ident.account == "123456789012"
    cases = [({"bucket": ""}, "No S3 bucket"), ({"bucket": "no-such-bucket-here"}, "does not exist"),
             ({"role_arn": "spaceport"}, "not an IAM role ARN"),
             ({"train_image": "ubuntu:latest"}, "not an ECR image URI"),
             ({"compress_image": COMPRESS_IMAGE.replace(":1", ":2")}, "is not in ECR")]
    aws.s3.create_bucket(Bucket="spaceport-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    cases.append(({"bucket": "spaceport-eu"}, "is in eu-west-1 but jobs run in us-east-1"))
    for overrides, message in cases:
        with pytest.raises(InputError, match=message) as err:
            preflight(AwsSession(_settings(**overrides)), ("train", "compress"))
        assert err.value.hint


def test_the_endpoint_is_named_when_it_is_not_aws(aws):
    assert aws.url in AwsSession(_settings()).endpoint_note()


def test_prices_come_from_the_pricing_api_when_it_answers_else_from_the_dated_table(aws):
    session = AwsSession(_settings())
    table = hourly_price(session, "ml.g5.xlarge")  # the emulator has no Pricing API
    assert table.usd_per_hour == INSTANCE_TYPES["ml.g5.xlarge"].usd_per_hour and table.date == PRICE_DATE
    product = {"product": {"attributes": {"usagetype": "USE1-Train:ml.g5.xlarge"}},
               "terms": {"OnDemand": {"t": {"effectiveDate": "2026-10-01T00:00:00Z", "priceDimensions": {
                   "d": {"unit": "Hrs", "pricePerUnit": {"USD": "1.5000000000"}}}}}}}
    with Stubber(session.client("pricing")) as stub:
        stub.add_response("get_products", {"PriceList": [json.dumps(product)], "FormatVersion": "aws_v1"})
        live = hourly_price(session, "ml.g5.xlarge")
    assert (live.usd_per_hour, live.source, live.date) == (1.5, "AWS Pricing API", "2026-10-01")


def test_compression_is_chained_in_the_cloud_only_when_the_figures_say_it_is_faster():
    t4 = INSTANCE_TYPES["ml.g4dn.xlarge"]
    where, why = compress_placement("auto", 3_000_000, bandwidth(100.0), t4)
    assert where == "local"  # 720 MB at 100 MB/s and ~70 s of measured compression beat a job's startup
    assert "measured: bench/results/compress.json" in why and "assumed" in why
    where, why = compress_placement("auto", 6_000_000, bandwidth(1.0), t4)
    assert where == "cloud" and "MB" in why  # 1.4 GB over a 1 MB/s link: compress there, fetch the SOG
    assert compress_placement("cloud", 10, bandwidth(1000.0), t4)[0] == "cloud"
    where, why = compress_placement("auto", None, bandwidth(), t4)
    assert where == "local" and "unknown" in why


def test_log_lines_become_the_events_local_training_emits():
    metrics = TrainMetrics(stage="train", step=120, total_steps=7000, loss=0.05, psnr=24.5, num_gaussians=90_000)
    back = parse_line(format_event(metrics) + "\n", "train")
    assert isinstance(back, TrainMetrics) and back.to_dict() == metrics.to_dict()
    plain = parse_line("CUDA version 12.4", "train")
    assert isinstance(plain, Log) and plain.level == "debug"
    assert parse_line("   ", "train") is None


def test_the_tailer_reads_each_line_once_across_streams_and_restarts(aws):
    logs = AwsSession(_settings()).client("logs")
    job = "spaceport-train-0123456789abcdef-a1"
    tailer = LogTailer(logs, job, rescan_s=0.0)
    assert tailer.poll() == []  # no log group yet
    aws.put_logs(job, ["one", "two"])
    assert tailer.poll() == ["one", "two"]
    assert tailer.poll() == []
    aws.put_logs(job, ["three"])
    aws.put_logs(job, ["other stream"], stream="algo-1-9999999999")
    assert sorted(tailer.poll()) == ["other stream", "three"]
    resumed = LogTailer(logs, job, tokens=tailer.tokens, rescan_s=0.0)
    aws.put_logs(job, ["four"])
    assert resumed.poll() == ["four"]
    aws.put_logs("spaceport-train-0123456789abcdef-a10", ["a different job"])
    assert resumed.poll() == []
