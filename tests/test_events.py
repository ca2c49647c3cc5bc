"""Events: JSON round trip, the JSONL log and its replay after a crash, the bus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.pipeline.events import (EventBus, JsonlSink, Log, Progress, SfmStats, StageFailed, TrainMetrics,
                                 event_from_dict, read_events)


def test_every_event_round_trips_through_json():
    events = [Progress(stage="sfm", fraction=0.5, message="matching"),
              SfmStats(stage="sfm", registered_images=3, track_length_histogram={"2": 10}),
              TrainMetrics(stage="train", step=10, loss=0.1, num_gaussians=100),
              StageFailed(stage="train", reason="NaN loss", hint="lower the learning rate",
                          action="relax_setting:train.lr_means")]
    for event in events:
        assert event_from_dict(json.loads(json.dumps(event.to_dict()))) == event


def test_jsonl_log_replays_and_ignores_a_torn_last_line(tmp_path):
    sink = JsonlSink(tmp_path / "logs" / "events.jsonl")
    bus = EventBus(sink)
    bus(Progress(stage="ingest", fraction=0.1))
    bus(Progress(stage="ingest", fraction=1.0))
    sink.close()
    with open(tmp_path / "logs" / "events.jsonl", "a") as f:
        f.write('{"type": "Progress", "stage": "in')  # a crash mid-line
    replay = read_events(tmp_path / "logs" / "events.jsonl")
    assert [e.fraction for e in replay] == [0.1, 1.0]


def test_bus_subscribe_and_unsubscribe():
    seen: list = []
    bus = EventBus()
    remove = bus.subscribe(seen.append)
    bus(Progress(stage="x", fraction=0))
    remove()
    bus(Progress(stage="x", fraction=1))
    assert len(seen) == 1


@pytest.mark.parametrize("given, kept", [(1.7, 1.0), (-0.2, 0.0), (float("nan"), 0.0), (0.25, 0.25)])
def test_progress_is_clamped_wherever_it_is_built(given, kept):
    assert Progress(stage="x", fraction=given).fraction == kept


def test_a_failing_sink_never_stops_the_pipeline_the_others_hear_why(tmp_path):
    seen: list = []
    full = JsonlSink(Path("/dev/full"))  # a real full disk: every write fails with ENOSPC
    bus = EventBus(full, seen.append)
    for i in range(3):
        bus(Progress(stage="train", fraction=i / 2))
    full.close()
    assert [e.fraction for e in seen if isinstance(e, Progress)] == [0.0, 0.5, 1.0]
    warnings = [e for e in seen if isinstance(e, Log) and e.level == "warning"]
    assert len(warnings) == 1 and "/dev/full" in warnings[0].text and "No space left" in warnings[0].text


def test_a_run_completes_when_its_event_log_cannot_be_written(tmp_path):
    from app.pipeline.project import Project
    from app.pipeline.runner import Runner
    from test_runner import Recorder

    (tmp_path / "flight").mkdir()
    project = Project.open(tmp_path / "p", source=tmp_path / "flight")
    seen: list = []
    bus = EventBus(JsonlSink(Path("/dev/full")), seen.append)
    assert Runner(project, [Recorder("ingest"), Recorder("sfm", ("ingest",))], bus).run()
    assert Project.open(project.root).record("sfm").state == "done"
