"""Saved files are never half-written: a failed write leaves the old file and no debris."""

from __future__ import annotations

import os

import pytest

from minigrad.atomic import atomic_write_bytes, atomic_write_text


def test_write_replaces_the_whole_file(tmp_path):
    path = tmp_path / "f.txt"
    atomic_write_text(path, "old")
    atomic_write_text(path, "new ünïcode\n")
    assert path.read_text(encoding="utf-8") == "new ünïcode\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_a_crash_before_the_rename_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    atomic_write_bytes(path, b"old contents")

    def crash(src, dst):
        raise KeyboardInterrupt  # Ctrl-C at the worst moment

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(path, b"new contents that never land")
    assert path.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]  # the temporary file is gone


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it afterwards."""
    saved = os.umask(0o022)

    def set_umask(mask: int) -> None:
        os.umask(mask)

    yield set_umask
    os.umask(saved)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_mode_plain_open_would_give(tmp_path, umask, mask):
    umask(mask)
    plain = tmp_path / "plain.txt"
    with open(plain, "w") as f:
        f.write("x")
    atomic_write_text(tmp_path / "atomic.txt", "x")
    atomic_write_bytes(tmp_path / "atomic.bin", b"x")
    want = 0o666 & ~mask
    assert (plain.stat().st_mode & 0o777) == want
    assert ((tmp_path / "atomic.txt").stat().st_mode & 0o777) == want
    assert ((tmp_path / "atomic.bin").stat().st_mode & 0o777) == want


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_replacing_a_file_keeps_its_mode(tmp_path, umask, mode):
    umask(0o022)
    path = tmp_path / "f.txt"
    path.write_text("old", encoding="utf-8")
    path.chmod(mode)
    atomic_write_text(path, "new")
    assert path.read_text(encoding="utf-8") == "new"
    assert (path.stat().st_mode & 0o777) == mode
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_a_file_in_a_missing_folder_raises_and_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write_text(tmp_path / "missing" / "f.txt", "x")
    assert list(tmp_path.iterdir()) == []
