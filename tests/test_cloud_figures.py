"""The figures behind cost and placement estimates: measured ones match their benchmark files,
the rest say they are assumed."""

from __future__ import annotations

import json
from pathlib import Path

from app.pipeline.cloud.approval import estimate_offload
from app.pipeline.cloud.figures import COMPRESS_BENCH, local_compress_speed
from app.pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_the_compression_speed_is_the_benchmarks_measurement():
    bench = json.loads((ROOT / COMPRESS_BENCH["file"]).read_text())
    row = bench["rows"][COMPRESS_BENCH["row"]]
    assert (bench["splats"], bench["cpus"]) == (COMPRESS_BENCH["splats"], COMPRESS_BENCH["cpus"])
    assert (row["seconds_to_sog"], row["ratio_to_ply"]) == (COMPRESS_BENCH["seconds"], COMPRESS_BENCH["ratio_to_ply"])
    speed = local_compress_speed()
    assert speed.basis == "measured" and speed.value == bench["splats"] / row["seconds_to_sog"]


def test_every_figure_of_an_estimate_is_measured_from_a_named_file_or_says_what_it_is():
    settings = Settings()
    settings.cloud.compress_where = "cloud"
    figures = [f for job in estimate_offload(settings).to_dict()["jobs"] for f in job["figures"]]
    assert figures and {f["basis"] for f in figures} <= {"measured", "assumed", "setting"}
    for f in figures:
        assert f["source"]
        if f["basis"] == "measured":
            assert (ROOT / f["source"].split(" ")[0]).is_file()
        if f["basis"] == "assumed":
            assert "not measured" in f["source"] or "assum" in f["source"] or "scaled" in f["source"]
