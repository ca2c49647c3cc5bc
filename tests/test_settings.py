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
                                             ("ingest.min_images", "many", "expects a whole number")])
def test_bad_settings_are_refused_with_a_message(key, value, match):
    with pytest.raises(InputError, match=match):
        Settings().set(key, value)


@pytest.mark.parametrize("typed,suggested", [("train.max_step", "did you mean train.max_steps"),
                                             ("trian.max_steps", "did you mean train.max_steps"),
                                             ("train.nope", "the train settings are where, preset,"),
                                             ("foo", "the sections are ingest, sfm, train")])
def test_a_mistyped_setting_is_answered_with_the_names_it_was_probably_meant_to_be(typed,
                                                                                  suggested):
    with pytest.raises(InputError, match="Unknown setting") as info:
        Settings().set(typed, "1")
    assert suggested in info.value.hint


def test_fingerprint_changes_only_with_the_section():
    a, b = Settings(), Settings()
    assert fingerprint(a.sfm) == fingerprint(b.sfm)
    b.sfm.backend = "opensfm"
    assert fingerprint(a.sfm) != fingerprint(b.sfm)
    assert fingerprint(a.ingest) == fingerprint(b.ingest)


def test_unknown_keys_in_project_json_are_ignored():
    s = Settings.from_dict({"ingest": {"min_images": 4, "from_the_future": 1}, "other": {}})
    assert s.ingest.min_images == 4
