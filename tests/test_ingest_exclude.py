"""ingest.exclude: images the operator leaves out are listed as unusable, and changing the list
makes ingest (and what follows) stale."""

from __future__ import annotations

import json

from ingest_files import make_flight

from app.cli import main
from app.pipeline.project import Project


def test_excluded_images_are_unusable_with_the_operators_reason_and_unknown_names_warned(
        tmp_path, capsys):
    make_flight(tmp_path / "flight", n=5)
    code = main(["ingest", str(tmp_path / "flight"), "-o", str(tmp_path / "p"), "--set",
                 'ingest.exclude=["IMG_0001.JPG", "IMG_0003.JPG", "gone.jpg"]'])
    assert code == 0
    project = Project.open(tmp_path / "p", create=False)
    report = json.loads(project.paths.ingest_report.read_text())
    assert report["unusable"] == [{"file": "IMG_0001.JPG", "reason": "excluded by the operator"},
                                  {"file": "IMG_0003.JPG", "reason": "excluded by the operator"}]
    assert report["images_usable"] == 3
    assert "ingest.exclude names gone.jpg, which is not an image of this flight" in \
        capsys.readouterr().err


def test_changing_the_exclusions_makes_ingest_and_everything_downstream_stale(tmp_path):
    from app.pipeline.runner import Runner
    from app.pipeline.stages import default_stages

    make_flight(tmp_path / "flight", n=4)
    assert main(["ingest", str(tmp_path / "flight"), "-o", str(tmp_path / "p")]) == 0
    project = Project.open(tmp_path / "p", create=False)
    project.record("sfm").state = "done"
    with project:
        runner = Runner(project, default_stages(), emit=lambda e: None)
        project.record("sfm").fingerprint = runner.fingerprint(default_stages()[1])
        assert runner.refresh_states()["ingest"] == "done"
        project.settings.set("ingest.exclude", '["IMG_0002.JPG"]')
        states = runner.refresh_states()
    assert states["ingest"] == "stale" and states["sfm"] == "stale"
