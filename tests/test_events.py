"""Events: JSON round trip, the JSONL log and its replay after a crash, the bus."""

from __future__ import annotations

import json

from app.pipeline.events import (EventBus, JsonlSink, Progress, SfmStats, StageFailed, TrainMetrics,
                                 event_from_dict, read_events)


def test_every_event_round_trips_through_json():
    events = [Progress(stage="sfm", fraction=0.5, message="matching"),
              SfmStats(stage="sfm", registered_images=3, track_length_histogram={"2": 10}),
              TrainMetrics(stage="train", step=10, loss=0.1, num_gaussians=100),
              StageFailed(stage="train", reason="NaN loss", hint="lower the learning rate")]
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
