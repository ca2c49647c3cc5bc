"""Exact duplicate files, found without reading every file: size, then a partial hash, then a full one."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Callable, Hashable, Iterable

from .scan import FlightFile

PARTIAL_BYTES = 16 * 1024  # hashed from each end of a file before any full read


def exact_duplicates(files: Iterable[FlightFile]) -> list[list[FlightFile]]:
    """Groups of byte-identical files, each in the given order (the first is the one to keep)."""
    groups = [g for g in _buckets(list(files), lambda f: f.size) if len(g) > 1]
    for digest in (_partial_digest, _full_digest):
        groups = [sub for g in groups for sub in _split_by_content(g, digest) if len(sub) > 1]
    return groups


def _split_by_content(group: list[FlightFile],
                      digest: Callable[[FlightFile], bytes]) -> list[list[FlightFile]]:
    if len({f.inode for f in group}) == 1:
        return [group]  # hard links to one file: identical without reading it
    cache: dict[tuple[int, int], bytes] = {}

    def key(f: FlightFile) -> bytes:
        if f.inode not in cache:
            cache[f.inode] = digest(f)
        return cache[f.inode]

    return _buckets(group, key)


def _buckets(files: list[FlightFile], key: Callable[[FlightFile], Hashable]) -> list[list[FlightFile]]:
    buckets: dict[Hashable, list[FlightFile]] = defaultdict(list)
    for f in files:
        buckets[key(f)].append(f)
    return list(buckets.values())


def _partial_digest(f: FlightFile) -> bytes:
    """Hash of the first and last PARTIAL_BYTES (the whole file when it is smaller)."""
    h = hashlib.blake2b(digest_size=16)
    with open(f.path, "rb") as fh:
        h.update(fh.read(PARTIAL_BYTES))
        if f.size > PARTIAL_BYTES:
            fh.seek(max(PARTIAL_BYTES, f.size - PARTIAL_BYTES))
            h.update(fh.read(PARTIAL_BYTES))
    return h.digest()


def _full_digest(f: FlightFile) -> bytes:
    with open(f.path, "rb") as fh:
        return hashlib.file_digest(fh, "blake2b").digest()
