"""The pieces of a child run without a window: event lines, a reader that goes away, how a
process ended in words, and hints in the window's words."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from app.pipeline.events import Log, Progress, StageFinished, read_events
from app.ui import gpus
from app.ui.child_run import CHILD_NICE, RunEnd, parse_lines, spaceport_command
from app.ui.hints import window_hint
from app.ui.run_outcome import how_it_ended


def test_event_lines_become_events_and_other_output_a_debug_line():
    line = json.dumps(Progress(stage="sfm", fraction=0.5, message="extracting features: 6/12 "
                                                                  "images").to_dict())
    events = parse_lines([line.encode(), b"", b"I0101 glog line on stdout"])
    assert events[0] == Progress(stage="sfm", fraction=0.5, t=events[0].t,
                                 message="extracting features: 6/12 images")
    assert events[1] == Log(stage="run", level="debug", text="I0101 glog line on stdout",
                            t=events[1].t)


def test_a_json_run_goes_on_when_its_reader_closes_the_pipe(sample_flight, tmp_path):
    proc = subprocess.Popen(spaceport_command("process", str(sample_flight), "-o",
                                              str(tmp_path / "p"), "--until", "ingest", "--json"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = json.loads(proc.stdout.readline())
    assert first["type"] == "StageStarted"
    proc.stdout.close()  # the window detached
    assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()
    logged = read_events(tmp_path / "p" / "logs" / "events.jsonl")
    assert any(isinstance(e, StageFinished) and e.stage == "ingest" for e in logged)


def priority(thread: int) -> int | None:
    """A thread's nice value (None once it has ended)."""
    try:
        return os.getpriority(os.PRIO_PROCESS, thread)
    except ProcessLookupError:
        return None


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads threads from /proc")
def test_a_child_and_all_its_threads_run_below_the_windows_cpu_priority(sample_flight, tmp_path):
    proc = subprocess.Popen(spaceport_command("process", str(sample_flight), "-o",
                                              str(tmp_path / "p"), "--until", "ingest", "--json"),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert json.loads(proc.stdout.readline())["type"] == "StageStarted"  # it works
        nices = {priority(int(t)) for t in os.listdir(f"/proc/{proc.pid}/task")} - {None}
    finally:
        proc.stdout.close()
        proc.wait(timeout=120)
    assert nices == {min(19, os.getpriority(os.PRIO_PROCESS, 0) + CHILD_NICE)}


def test_a_gpu_probe_destroyed_with_its_window_while_asking_raises_nothing(qtbot, monkeypatch):
    import shiboken6

    monkeypatch.setattr(gpus, "_known", None)  # not listed yet: the probe starts its child
    probe = gpus.GpuProbe()
    probe.start()
    assert probe._proc is not None and probe._proc.waitForStarted(10_000)
    shiboken6.delete(probe)  # its QProcess goes with it, and says so while being destroyed
    qtbot.wait(50)  # pytest-qt fails the test on an exception in a slot


def test_how_a_process_ended_is_said_plainly():
    assert how_it_ended(RunEnd(returncode=-9)).startswith("was killed (SIGKILL")
    assert "segmentation fault" in how_it_ended(RunEnd(returncode=-11))
    assert how_it_ended(RunEnd(returncode=3)) == "exited with code 3 without finishing its stage"
    assert how_it_ended(RunEnd()) == "ended without finishing its stage"


def test_hints_name_what_to_press_in_the_window():
    assert window_hint("run the same command again to resume") == "press Run to resume"
    assert window_hint("create it with `spaceport process FLIGHT_DIR -o PROJECT`") == \
        "create it with New project from a flight folder"
    assert window_hint("use --set train.device=auto, or install a CUDA build of torch") == \
        "set train.device to auto in the Settings tab, or install a CUDA build of torch"
    assert window_hint("or train locally with --train-on local") == \
        "or train locally by choosing local under Where training runs"
    assert window_hint("fly with more overlap", "resume") == \
        "press Run to resume from where it stopped; fly with more overlap"
    assert window_hint("", "relax_setting:sfm.max_gps_residual_m") == \
        "change sfm.max_gps_residual_m in the Settings tab"
    # a hint that already says where the stage resumes from is not said twice
    assert window_hint("the stage resumes from where it stopped", "resume") == \
        "press Run: the stage resumes from where it stopped"


def test_a_cancelled_stage_is_logged_once_with_what_comes_next_not_a_fix():
    from app.pipeline.events import StageFailed, StageStarted
    from app.ui.run_model import RunModel

    model = RunModel(["train"])
    model.apply(StageStarted(stage="train"))
    model.apply(StageFailed(stage="train", reason="cancelled by the user", cancelled=True,
                            hint="the stage resumes from where it stopped", action="resume"))
    assert model.new_lines(0)[-1].text == \
        "cancelled by the user (next: press Run: the stage resumes from where it stopped)"


def test_why_the_cli_refused_to_start_is_read_from_its_error_block():
    from app.ui.run_outcome import cli_refusal

    printed = ["some earlier line", "error: Only 0 of 1 images are usable. Unusable:",
               "  fake.jpg: not an image", "  file: /flight/fake.jpg",
               "  fix: pass the folder that holds the drone images",
               "  next: fix what the message names, then run the same command again"]
    refused = cli_refusal(printed)
    assert refused.message == "Only 0 of 1 images are usable. Unusable:\n  fake.jpg: not an image"
    assert refused.hint == "pass the folder that holds the drone images"
    assert cli_refusal(["Traceback (most recent call last):", "ValueError: x"]) is None
