"""The CLI's project-level behaviour: locks, locations, resume without a flight, status."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from ingest_files import make_flight

from app.cli import main


def test_a_project_open_in_another_process_is_refused_with_exit_2(tmp_path, capsys):
    make_flight(tmp_path / "flight", n=4)
    assert main(["ingest", str(tmp_path / "flight"), "-o", str(tmp_path / "p")]) == 0
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from app.pipeline.project import Project
        p = Project.open({str(tmp_path / 'p')!r}); p.lock(); print('locked', flush=True); time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1])
    try:
        assert holder.stdout.readline().strip() == "locked"
        capsys.readouterr()
        assert main(["process", "-o", str(tmp_path / "p"), "--until", "ingest"]) == 2
        err = capsys.readouterr().err
        assert "open in another process" in err and f"pid {holder.pid}" in err
        assert main(["status", str(tmp_path / "p")]) == 0  # status still reads it, and says who has it
        assert f"open in process {holder.pid} on " in capsys.readouterr().out
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    assert main(["process", "-o", str(tmp_path / "p"), "--until", "ingest"]) == 0  # stale lock taken over


def test_an_output_folder_inside_the_flight_folder_is_refused(tmp_path, capsys):
    make_flight(tmp_path / "flight", n=4)
    before = sorted(p.name for p in (tmp_path / "flight").iterdir())
    assert main(["ingest", str(tmp_path / "flight"), "-o", str(tmp_path / "flight" / "out")]) == 2
    assert "inside the flight folder" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "flight").iterdir()) == before


def test_a_new_project_needs_a_flight_folder(tmp_path, capsys):
    assert main(["process", "-o", str(tmp_path / "p")]) == 2
    assert "pass the flight folder" in capsys.readouterr().err


def test_resume_without_naming_the_flight_again_and_status(tmp_path, capsys):
    make_flight(tmp_path / "flight", n=4)
    assert main(["ingest", str(tmp_path / "flight"), "-o", str(tmp_path / "p")]) == 0
    assert main(["process", "-o", str(tmp_path / "p"), "--until", "ingest", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(e["type"] == "StageFinished" and e["stage"] == "ingest" and e["skipped"] for e in lines)
    assert main(["status", str(tmp_path / "p"), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["ingest"]["state"] == "done"


def test_unknown_setting_is_a_usage_error(tmp_path, capsys):
    make_flight(tmp_path / "flight", n=4)
    assert main(["ingest", str(tmp_path / "flight"), "-o", str(tmp_path / "p"), "--set", "x.y=1"]) == 2
    assert "Unknown setting" in capsys.readouterr().err


def test_a_mistyped_setting_is_refused_before_the_project_folder_is_made(tmp_path, capsys):
    make_flight(tmp_path / "flight", n=4)
    args = ["process", str(tmp_path / "flight"), "-o", str(tmp_path / "p")]
    assert main([*args, "--set", "train.max_step=300"]) == 2
    assert "did you mean train.max_steps?" in capsys.readouterr().err
    assert main([*args, "--set", "train.max_steps=many"]) == 2
    assert "expects a whole number, got 'many'" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_status_shows_each_stage_result_as_process_printed_it(tmp_path, capsys):
    make_flight(tmp_path / "flight", n=4)
    assert main(["process", str(tmp_path / "flight"), "-o", str(tmp_path / "p"), "--until", "ingest"]) == 0
    summary = [line for line in capsys.readouterr().err.splitlines() if line.startswith("  ingest ")]
    assert main(["status", str(tmp_path / "p")]) == 0
    shown = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  ingest ")]
    assert shown == summary and "done" in shown[0] and len(shown[0].split()) > 2  # the result, not just "done"


def test_the_demo_ends_by_saying_how_to_see_its_project_in_the_window(tmp_path, capsys):
    assert main(["demo", "--dir", str(tmp_path / "demo"), "--images", "4", "--until", "ingest"]) == 0
    assert f"spaceport gui {tmp_path / 'demo' / 'project'}" in capsys.readouterr().err


def test_stage_summaries_round_their_figures_for_people():
    from app.pipeline.compress.stage import CompressStage
    from app.pipeline.train.stage import TrainStage

    train = TrainStage().summary({"psnr": 25.1873, "initial_psnr": 11.62812, "num_gaussians": 9989,
                                  "steps": 1000, "device": "cpu", "splats": "train/splats.ply"})
    assert train == ("9989 Gaussians, held-out PSNR 25.19 dB (untrained 11.6), 1000 steps on "
                     "cpu -> train/splats.ply")
    compress = CompressStage().summary({"scene": "compress/scene.sog", "bytes": 190_000,
                                        "ratio_to_ply": 13.0912, "position_error_mm": 2.07812,
                                        "render_psnr_db": 45.56912})
    assert compress == ("compress/scene.sog 0.2 MB, 13.1x smaller, position error 2.1 mm, "
                        "render PSNR 45.6 dB vs uncompressed")
