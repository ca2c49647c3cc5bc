"""pycolmap's option objects built from keyword values ("sift__max_num_features" sets the
nested `sift.max_num_features`), so each call site lists only what it sets."""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def options(cls: type[T], **values: Any) -> T:
    """A `cls()` with the given fields set; a double underscore reaches a nested option."""
    obj = cls()
    for key, value in values.items():
        *path, name = key.split("__")
        target = obj
        for part in path:
            target = getattr(target, part)
        setattr(target, name, value)
    return obj
