"""Safe extraction of a job's model.tar.gz (it comes from a remote machine: trust nothing in it).

Checked before anything is written: regular files and folders only (no links, devices, fifos),
no absolute or `..` paths, every resolved path inside a fresh staging folder, room on the disk;
then tarfile's `filter='data'` as a second line; then each file is moved into place atomically.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from ..errors import InputError


def _refuse(tar_path: Path, why: str) -> InputError:
    return InputError(f"Refusing to extract {tar_path}: {why}", path=tar_path,
                      hint="the job's output is not what Spaceport writes; do not use this image, "
                           "and check who can push to its ECR repository")


def check_members(tar_path: Path, tar: tarfile.TarFile, root: Path) -> list[tarfile.TarInfo]:
    """The archive's members to extract after every check, or InputError naming the first bad one.

    The archive's own root folder (`.`, as `tar -C dir -czf model.tar.gz .` writes it) is
    left out: extracting into `root` already makes it.
    """
    root = root.resolve()
    members = []
    for m in tar.getmembers():
        if not _is_root(m, tar_path):
            _check_member(m, tar_path, root)
            members.append(m)
    need = sum(m.size for m in members if m.isreg())
    free = shutil.disk_usage(root).free
    if need > free:
        raise _refuse(tar_path, f"it unpacks to {need} bytes but only {free} are free")
    return members


def _is_root(m: tarfile.TarInfo, tar_path: Path) -> bool:
    """True for the archive's root folder; an entry with no name that is not a folder is refused."""
    if PurePosixPath(m.name).parts:
        return False
    if not m.isdir():
        raise _refuse(tar_path, f"{m.name!r} names no file")
    return True


def _check_member(m: tarfile.TarInfo, tar_path: Path, root: Path) -> None:
    if not (m.isreg() or m.isdir()):
        kind = "link" if (m.issym() or m.islnk()) else "special file"
        raise _refuse(tar_path, f"{m.name!r} is a {kind}")
    pure = PurePosixPath(m.name)
    if pure.is_absolute() or m.name.startswith(("/", "\\")) or ":" in pure.parts[0]:
        raise _refuse(tar_path, f"{m.name!r} is an absolute path")
    if ".." in pure.parts:
        raise _refuse(tar_path, f"{m.name!r} climbs out of the target folder")
    target = (root / m.name).resolve()
    if target != root and root not in target.parents:
        raise _refuse(tar_path, f"{m.name!r} resolves outside the target folder")


def safe_extract(tar_path: Path, dest: Path) -> list[str]:
    """Extract `tar_path` into `dest`; returns the extracted files (relative posix paths)."""
    tar_path, dest = Path(tar_path), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
    try:
        try:
            with tarfile.open(tar_path, "r:*") as tar:
                members = check_members(tar_path, tar, staging)
                tar.extractall(staging, members=members, filter="data")
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise _refuse(tar_path, f"it is not a readable tar archive ({exc})") from exc
        files = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
        for rel in files:
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(staging / rel, "rb") as fh:  # the staging folder is atomic_path's temp file
                os.fsync(fh.fileno())
            os.replace(staging / rel, target)
        return files
    finally:
        shutil.rmtree(staging, ignore_errors=True)
