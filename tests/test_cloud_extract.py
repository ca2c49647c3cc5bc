"""A job's model.tar.gz is extracted only when every entry is a plain file or folder inside the target."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from app.pipeline.cloud.extract import safe_extract
from app.pipeline.errors import InputError
from cloud_moto import tar_bytes


def _tar(path: Path, entries: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for entry in entries:
            if isinstance(entry, tuple):
                info = tarfile.TarInfo(entry[0])
                info.size = len(entry[1])
                tar.addfile(info, io.BytesIO(entry[1]))
            else:
                tar.addfile(entry)
    return path


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def test_a_regular_archive_is_extracted_with_its_folders(tmp_path):
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(tar_bytes({"splats.ply": b"ply", "sub/metrics.jsonl": b"{}\n"}))
    dest = tmp_path / "out"
    assert safe_extract(archive, dest) == ["splats.ply", "sub/metrics.jsonl"]
    assert (dest / "splats.ply").read_bytes() == b"ply"
    assert sorted(p.name for p in dest.iterdir()) == ["splats.ply", "sub"]  # no staging left behind


@pytest.mark.parametrize("entries, why", [
    ([("../escape.txt", b"x")], "climbs out"),
    ([("sub/../../escape.txt", b"x")], "climbs out"),
    ([("/tmp/absolute.txt", b"x")], "absolute"),
    ([_link("link", "/etc/passwd")], "link"),
    ([_link("link", "../outside")], "link"),
    ([_link("hard", "/etc/passwd", tarfile.LNKTYPE)], "link"),
    # the case filter='data' alone let through: a file written through a symlinked folder name
    ([_link("dir", "/tmp"), ("dir/evil.txt", b"x")], "link"),
    ([_link("dev", "", tarfile.CHRTYPE)], "special file"),
    ([_link("fifo", "", tarfile.FIFOTYPE)], "special file"),
])
def test_malicious_archives_are_refused_and_nothing_is_written(tmp_path, entries, why):
    archive = _tar(tmp_path / "model.tar.gz", [("good.txt", b"ok")] + entries)
    dest = tmp_path / "deep" / "out"
    with pytest.raises(InputError, match=why) as err:
        safe_extract(archive, dest)
    assert str(archive) in err.value.render()
    assert list(dest.iterdir()) == []
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "deep" / "escape.txt").exists()


def test_a_truncated_archive_is_refused_with_the_file_named(tmp_path):
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(tar_bytes({"splats.ply": os.urandom(100_000)})[:50_000])
    with pytest.raises(InputError, match="not a readable tar archive"):
        safe_extract(archive, tmp_path / "out")


def test_an_archive_of_a_folder_made_with_tar_dot_is_extracted(tmp_path):
    model = tmp_path / "opt-ml-model"
    (model / "sub").mkdir(parents=True)
    (model / "splats.ply").write_bytes(b"ply")
    (model / "sub" / "geo.json").write_bytes(b"{}")
    archive = tmp_path / "model.tar.gz"
    if shutil.which("tar"):  # what a container's entrypoint often runs: tar -C dir -czf model.tar.gz .
        subprocess.run(["tar", "-C", str(model), "-czf", str(archive), "."], check=True)
    else:
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(model, arcname=".")
    with tarfile.open(archive) as tar:
        assert "." in [m.name.rstrip("/") for m in tar.getmembers()]
    dest = tmp_path / "out"
    assert safe_extract(archive, dest) == ["splats.ply", "sub/geo.json"]
    assert (dest / "splats.ply").read_bytes() == b"ply" and (dest / "sub" / "geo.json").read_bytes() == b"{}"


@pytest.mark.parametrize("name", [".", "./"])
def test_a_file_member_that_names_no_file_is_a_refused_archive(tmp_path, name):
    archive = _tar(tmp_path / "model.tar.gz", [("good.txt", b"ok"), (name, b"x")])
    with pytest.raises(InputError, match="Refusing to extract") as err:
        safe_extract(archive, tmp_path / "out")
    assert str(archive) in err.value.render()
    assert list((tmp_path / "out").iterdir()) == []
