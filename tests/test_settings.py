"""Settings: typed `--set` values, clear refusals, stable fingerprints."""

from __future__ import annotations

import pytest

from app.pipeline.errors import InputError
from app.pipeline.settings import Settings, fingerprint


def test_set_converts_to_the_field_type():
    s = Settings()
    s.set("ingest.min_images", "5")
    s.set("ingest.require_gps", "yes")
    s.set("sfm.import_from", "none")
    assert (s.ingest.min_images, s.ingest.require_gps, s.sfm.import_from) == (5, True, None)


@pytest.mark.parametrize("key,value,match", [("nope.x", "1", "Unknown setting"),
                                             ("ingest.nope", "1", "Unknown setting"),
                                             ("ingest.min_images", "many", "expects int")])
def test_bad_settings_are_refused_with_a_message(key, value, match):
    with pytest.raises(InputError, match=match):
        Settings().set(key, value)


def test_fingerprint_changes_only_with_the_section():
    a, b = Settings(), Settings()
    assert fingerprint(a.sfm) == fingerprint(b.sfm)
    b.sfm.backend = "opensfm"
    assert fingerprint(a.sfm) != fingerprint(b.sfm)
    assert fingerprint(a.ingest) == fingerprint(b.ingest)


def test_unknown_keys_in_project_json_are_ignored():
    s = Settings.from_dict({"ingest": {"min_images": 4, "from_the_future": 1}, "other": {}})
    assert s.ingest.min_images == 4
