"""The cost a user approves before anything is uploaded: what the estimate says and how the CLI
asks for it (a terminal prompt, or --yes when nobody can be asked)."""

from __future__ import annotations

import io

import pytest

from app.cli import main
from app.cli_cloud import approve_on_terminal, confirm
from app.pipeline.cloud.approval import estimate_offload
from app.pipeline.cloud.instances import INSTANCE_TYPES, PRICE_DATE, PRICE_SOURCE
from app.pipeline.errors import InputError
from app.pipeline.settings import Settings
from cloud_moto import BUCKET, COMPRESS_IMAGE, REGION, ROLE, TRAIN_IMAGE, aws, moto_server  # noqa: F401


class Terminal(io.StringIO):
    """Standard input of a terminal on which the user types `text`."""

    def isatty(self) -> bool:
        return True


def test_the_estimate_names_types_prices_times_and_the_basis_of_every_figure():
    settings = Settings()
    settings.train.preset = "standard"
    estimate = estimate_offload(settings)
    (train,) = estimate.jobs
    g5 = INSTANCE_TYPES["ml.g5.xlarge"]
    assert (train.instance, train.price.usd_per_hour, train.price.date, train.price.source) == \
        (g5.name, g5.usd_per_hour, PRICE_DATE, PRICE_SOURCE)
    assert {name: f.basis for name, f in train.parts} == {"startup": "assumed", "steps": "setting",
                                                         "speed": "assumed"}
    assert dict(train.parts)["steps"].value == 30_000
    assert train.usd == pytest.approx(g5.usd_per_hour * train.seconds / 3600)
    assert estimate.total_usd == pytest.approx(train.usd)
    text = "\n".join(estimate.lines())
    assert "ml.g5.xlarge at $1.408/h" in text and PRICE_DATE in text and "not measured" in text
    assert "compression: here, not billed" in text and "measured: bench/results/compress.json" in text
    assert f"total: about ${estimate.total_usd:.2f}" in text


def test_chained_cloud_compression_is_priced_as_a_second_job():
    settings = Settings()
    settings.cloud.compress_where = "cloud"
    settings.cloud.spot = True
    estimate = estimate_offload(settings)
    assert [job.kind for job in estimate.jobs] == ["train", "compress"]
    assert estimate.jobs[1].instance == "ml.g4dn.xlarge"
    assert estimate.total_usd == pytest.approx(sum(job.usd for job in estimate.jobs))
    assert "spot prices are usually" in estimate.lines()[-1]
    assert estimate.to_dict()["jobs"][1]["figures"][2]["basis"] == "assumed"


def test_an_instance_type_spaceport_does_not_offer_is_refused():
    settings = Settings()
    settings.cloud.train_instance_type = "ml.p4d.24xlarge"
    with pytest.raises(InputError, match="does not offer") as err:
        estimate_offload(settings)
    assert "ml.g5.xlarge or ml.g4dn.xlarge" in err.value.hint


def test_a_terminal_is_asked_and_its_answer_counts():
    estimate = estimate_offload(Settings())
    out = io.StringIO()
    assert approve_on_terminal(False, Terminal("y\n"), out)(estimate) is True
    assert "Cloud offload estimate" in out.getvalue() and "[y/N]" in out.getvalue()
    assert approve_on_terminal(False, Terminal("\n"), io.StringIO())(estimate) is False
    assert confirm("Go?", False, Terminal("no\n"), io.StringIO()) is False


def test_without_a_terminal_only_yes_approves():
    out = io.StringIO()
    assert confirm("Go?", False, io.StringIO("y\n"), out) is False  # a pipe is not asked
    assert "pass --yes" in out.getvalue()
    assert confirm("Go?", True, io.StringIO(""), io.StringIO()) is True


def test_process_on_the_cloud_without_yes_and_without_a_terminal_uploads_nothing(aws, tmp_path, capsys,
                                                                                monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # as under a script: not a terminal
    (tmp_path / "flight").mkdir()
    sets = [f"cloud.bucket={BUCKET}", f"cloud.role_arn={ROLE}", f"cloud.train_image={TRAIN_IMAGE}",
            f"cloud.compress_image={COMPRESS_IMAGE}", f"cloud.region={REGION}"]
    args = ["process", str(tmp_path / "flight"), "-o", str(tmp_path / "p"), "--train-on", "cloud"]
    assert main(args + [a for s in sets for a in ("--set", s)]) == 1
    err = capsys.readouterr().err
    assert "Cloud offload estimate" in err and "pass --yes" in err and "next: approve the estimate" in err
    assert "Contents" not in aws.s3.list_objects_v2(Bucket=BUCKET)  # nothing uploaded
    assert not (tmp_path / "p" / "ingest").exists()  # asked before the first stage
