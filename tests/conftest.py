"""Shared fixtures: the synthetic sample flight (generated once per session) and paths."""

from __future__ import annotations

from pathlib import Path

import pytest

# ../shared beside the checkout (CI, main checkout), or one level further up (a git worktree)
SHARED = next((p / "shared" for p in Path(__file__).resolve().parents[1:4]
               if (p / "shared" / "fixtures").is_dir()), Path("shared"))
FIXTURES = SHARED / "fixtures"
BRIGHTON = SHARED / "data" / "brighton_beach" / "images"


def needs_brighton() -> pytest.MarkDecorator:
    """Skip unless the real DJI flight in ../shared/data is present."""
    return pytest.mark.skipif(not BRIGHTON.is_dir(), reason="../shared/data/brighton_beach absent")


@pytest.fixture(scope="session")
def rendered_handoff(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SfM hand-off of 8 rendered 64x48 views (every 8th held out), made once per run."""
    from train_scene import make_scene

    folder = tmp_path_factory.mktemp("handoff")
    make_scene(folder, n_views=8, width=64, height=48)
    return folder


@pytest.fixture(scope="session")
def sample_flight(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic flight (JPEGs with EXIF GPS + ground_truth.json), made once per run."""
    from app.pipeline.synthetic import generate_flight

    folder = tmp_path_factory.mktemp("sample flight é")  # spaces and non-ASCII on purpose
    generate_flight(folder, n_images=12, seed=3, width=640, height=480)
    return folder
