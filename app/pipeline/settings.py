"""The single source of settings: one typed section per stage, stored in project.json.

Each stage's section lives beside its code (`app/pipeline/<stage>/settings.py`); this module
composes them, converts to and from JSON and fingerprints what of a section affects the result
(each field declares it, app/pipeline/fields.py), so a changed setting marks that stage and
everything downstream stale only when it changes what the stage makes.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from .errors import InputError
from .fields import result_values
from .cloud.settings import CloudSettings
from .compress.settings import CompressSettings
from .ingest.settings import IngestSettings
from .sfm.settings import SfmSettings
from .train.settings import TrainSettings


@dataclass
class Settings:
    """All settings of a project, one section per stage."""

    ingest: IngestSettings = field(default_factory=IngestSettings)
    sfm: SfmSettings = field(default_factory=SfmSettings)
    train: TrainSettings = field(default_factory=TrainSettings)
    compress: CompressSettings = field(default_factory=CompressSettings)
    cloud: CloudSettings = field(default_factory=CloudSettings)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Settings":
        """Build from a dict, ignoring unknown keys (older/newer project files stay loadable)."""
        return _from_dict(cls, data or {})

    def section(self, name: str) -> Any:
        """The settings dataclass of one stage (`ingest`, `sfm`, ...)."""
        return getattr(self, name)

    def set(self, dotted: str, value: str) -> None:
        """Set `section.key` from a command-line string, converted to the field's type."""
        try:
            section_name, key = dotted.split(".", 1)
            section = getattr(self, section_name)
            fld = next(f for f in dataclasses.fields(section) if f.name == key)
        except (ValueError, AttributeError, StopIteration):
            raise InputError(f"Unknown setting {dotted!r}", hint=self._closest(dotted)) from None
        hints = typing.get_type_hints(type(section))
        setattr(section, key, _coerce(value, hints[fld.name], dotted))

    def names(self) -> list[str]:
        """Every setting as `section.key`."""
        return [f"{f.name}.{g.name}" for f in dataclasses.fields(self)
                for g in dataclasses.fields(getattr(self, f.name))]

    def _closest(self, dotted: str) -> str:
        """A hint for a mistyped setting: the closest names, else what there is."""
        section, _, key = dotted.lower().partition(".")
        sections = [f.name for f in dataclasses.fields(self)]
        if section in sections:
            keys = [f.name for f in dataclasses.fields(getattr(self, section))]
            close = difflib.get_close_matches(key, keys, n=3, cutoff=0.8)
            return ("did you mean " + " or ".join(f"{section}.{k}" for k in close) + "?" if close
                    else f"the {section} settings are " + ", ".join(keys))
        close = difflib.get_close_matches(dotted.lower(), self.names(), n=3, cutoff=0.8)
        return ("did you mean " + " or ".join(close) + "?" if close else
                "settings are written section.key; the sections are " + ", ".join(sections))


def fingerprint(obj: Any) -> str:
    """Stable short hash of a JSON-serialisable value or a settings dataclass."""
    if dataclasses.is_dataclass(obj):
        obj = dataclasses.asdict(obj)
    blob = json.dumps(obj, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def result_fingerprint(section: Any) -> str:
    """Hash of the fields of a settings section that affect its stage's result (fields.py)."""
    return fingerprint(result_values(section))


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        tp = hints[f.name]
        value = data[f.name]
        if dataclasses.is_dataclass(tp) and isinstance(value, dict):
            value = _from_dict(tp, value)
        kwargs[f.name] = value
    return cls(**kwargs)


def _coerce(text: str, tp: Any, name: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if text.lower() in ("none", "null", ""):
            return None
        tp = args[0]
    if origin is typing.Literal:
        if text not in typing.get_args(tp):
            raise InputError(f"Setting {name} must be one of {typing.get_args(tp)}, not {text!r}")
        return text
    try:
        if tp is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if tp in (int, float, str):
            return tp(text)
        return json.loads(text)
    except ValueError:
        raise InputError(f"Setting {name} expects {_kind(tp)}, got {text!r}") from None


def _kind(tp: Any) -> str:
    """A type in words: 'a whole number', 'a number', 'true or false', ..."""
    if typing.get_origin(tp) is list or tp is list:
        return 'a JSON list, e.g. ["DJI_0001.JPG"]'
    return {int: "a whole number", float: "a number", bool: "true or false",
            str: "text"}.get(tp, f"a JSON value of type {getattr(tp, '__name__', tp)}")
