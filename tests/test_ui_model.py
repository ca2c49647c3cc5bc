"""The Qt-free run model: what events and a replayed log do to stage states, series and log."""

from __future__ import annotations

from pathlib import Path

from app.pipeline.events import (Log, PreviewSnapshot, SfmStats, StageFailed, StageFinished,
                                 StageStarted, TrainMetrics)
from app.pipeline.project import StageRecord
from app.ui.event_tail import EventTail
from app.ui.run_model import RunModel

from tests.ui_scene import past_run_events, write_events

NAMES = ["ingest", "sfm", "train"]


def test_replaying_a_past_run_fills_the_series_but_leaves_states_to_project_json(tmp_path):
    model = RunModel(NAMES, root=tmp_path)
    model.replay(past_run_events())
    assert model.sfm.registered == list(range(1, 13))
    assert model.sfm.seconds[0] == 0.0 and model.sfm.seconds[-1] == 44.0
    assert model.sfm.histogram["2"] > model.sfm.histogram["10"] > 0
    assert list(model.sfm.histogram)[-2:] == ["11-14", "20+"]  # the SfM stage's bins, in order
    assert model.train.step[-1] == 3000 and len(model.train.psnr) == 7
    assert model.train.gaussians[-1] == 42000
    assert model.preview == tmp_path / "train/previews/step_3000.ply"
    assert all(v.state == "pending" for v in model.stages.values())
    model.load_records({"ingest": StageRecord(state="done"),
                        "sfm": StageRecord(state="failed", reason="2 of 12 images registered",
                                           hint="fly with more overlap")})
    assert [v.state for v in model.stages.values()] == ["done", "failed", "pending"]
    assert model.stages["sfm"].hint == "fly with more overlap"


def test_live_events_move_a_stage_through_running_done_failed_and_cancelled():
    model = RunModel(NAMES)
    topics: list[str] = []
    model.subscribe(topics.append)
    model.apply(StageStarted(stage="ingest"))
    assert model.stages["ingest"].state == "running" and model.running == "ingest"
    model.apply(StageFinished(stage="ingest"))
    model.apply(StageStarted(stage="sfm"))
    model.apply(StageFailed(stage="sfm", reason="no matches", hint="check overlap"))
    model.apply(StageFailed(stage="train", reason="cancelled by the user", cancelled=True))
    assert [v.state for v in model.stages.values()] == ["done", "failed", "cancelled"]
    assert model.stages["sfm"].reason == "no matches"
    assert {"stages", "log", "progress"} <= set(topics)
    assert [line.level for line in model.log][-2:] == ["error", "warning"]
    assert "fix: check overlap" in list(model.log)[-2].text


def test_a_new_sfm_run_clears_the_previous_series_and_a_resumed_one_keeps_it():
    model = RunModel(NAMES)
    model.apply(SfmStats(stage="sfm", registered_images=5, points=100, t=10.0))
    model.apply(StageStarted(stage="sfm", resumed=True))
    model.apply(SfmStats(stage="sfm", registered_images=6, points=120, t=12.0))
    assert model.sfm.registered == [5, 6] and model.sfm.seconds == [0.0, 2.0]
    model.apply(StageStarted(stage="sfm"))
    assert model.sfm.registered == []


def test_training_restarted_from_a_checkpoint_drops_the_steps_after_it():
    model = RunModel(NAMES)
    for step in (0, 100, 200, 300):
        model.apply(TrainMetrics(stage="train", step=step, loss=1.0, psnr=20.0 + step / 100))
    model.apply(StageStarted(stage="train", resumed=True))
    model.apply(TrainMetrics(stage="train", step=200, total_steps=1000, loss=0.5))
    assert model.train.step == [0, 100, 200] and model.train.loss[-1] == 0.5
    assert model.train.psnr_step == [0, 100]
    assert model.stages["train"].fraction == 0.2


def test_new_lines_hands_a_panel_only_what_it_has_not_shown():
    model = RunModel(NAMES)
    for i in range(3):
        model.apply(Log(stage="ingest", text=f"line {i}"))
    assert [l.text for l in model.new_lines(1)] == ["line 1", "line 2"]
    assert model.new_lines(3) == []


def test_an_absolute_preview_path_is_kept_as_it_is(tmp_path):
    model = RunModel(NAMES, root=Path("/elsewhere"))
    model.apply(PreviewSnapshot(stage="train", path=str(tmp_path / "p.ply")))
    assert model.preview == tmp_path / "p.ply"


def test_event_tail_reads_only_new_complete_lines_and_skips_torn_ones(tmp_path):
    log = tmp_path / "events.jsonl"
    tail = EventTail(log)
    assert tail.read_new() == []  # no log yet
    events = past_run_events()
    write_events(log, events[:3])
    assert [type(e).__name__ for e in tail.read_new()] == ["StageStarted", "Log", "StageFinished"]
    with open(log, "a", encoding="utf-8") as f:
        f.write('{"type": "Log", "stage": "sfm", "te')  # a line still being written
    assert tail.read_new() == []
    with open(log, "a", encoding="utf-8") as f:
        f.write('xt": "later"}\nnot json\n')
    assert [e.text for e in tail.read_new()] == ["later"]
    log.write_text("")  # replaced by a shorter log: read it from the start
    write_events(log, events[:1])
    assert len(tail.read_new()) == 1


def test_a_run_followed_from_its_log_shows_where_the_running_stage_had_got_to():
    model = RunModel(NAMES)
    model.replay([StageStarted(stage="train"),
                  TrainMetrics(stage="train", step=30, total_steps=120, loss=0.2)])
    model.load_records({"ingest": StageRecord(state="done"), "sfm": StageRecord(state="done"),
                        "train": StageRecord(state="running", started=100.0)})
    view = model.stages["train"]
    assert model.running == "train"
    assert (view.fraction, view.message) == (0.25, "step 30/120")
    assert view.elapsed(now=160.0) == 60.0
