"""``minigrad.run_folder``: a folder is replaced whole, or not at all."""

from __future__ import annotations

import os

import pytest

import minigrad.run_folder as run_folder
from minigrad.run_folder import check_can_replace, replacing_folder


def _fill(folder, tag):
    for name in ("weights", "config", "metrics"):
        (folder / name).write_text(f"{tag} {name}")


def _contents(folder):
    return {p.name: p.read_text() for p in folder.iterdir()}


@pytest.fixture(params=["exchange", "two-renames"])
def swap_kind(request, monkeypatch):
    """Run each test with the one-call exchange and with the fallback (two renames)."""
    if request.param == "two-renames":
        monkeypatch.setattr(run_folder, "_libc_exchange", lambda a, b: False)
    return request.param


def test_a_new_folder_appears_whole(tmp_path, swap_kind):
    target = tmp_path / "parent" / "run"  # parents are created
    with replacing_folder(target) as staging:
        assert staging.parent == target.parent and staging.name.startswith(".run.minigrad-new-")
        assert not target.exists()  # nothing shows until the block ends
        _fill(staging, "new")
    assert _contents(target) == {"weights": "new weights", "config": "new config",
                                 "metrics": "new metrics"}  # fmt: skip
    assert os.listdir(target.parent) == ["run"]


def test_an_old_folder_is_replaced_and_its_files_removed(tmp_path, swap_kind):
    target = tmp_path / "run"
    target.mkdir()
    _fill(target, "old")
    (target / "stale-plot").write_text("from the old run")
    os.chmod(target, 0o750)
    with replacing_folder(target) as staging:
        _fill(staging, "new")
        assert _contents(target)["weights"] == "old weights"  # the old run is intact meanwhile
    assert _contents(target) == {"weights": "new weights", "config": "new config",
                                 "metrics": "new metrics"}  # fmt: skip
    assert target.stat().st_mode & 0o777 == 0o750  # the folder keeps its permissions
    assert os.listdir(tmp_path) == ["run"]


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError])
def test_a_failure_before_the_swap_leaves_the_old_folder_untouched(tmp_path, swap_kind, error):
    target = tmp_path / "run"
    target.mkdir()
    _fill(target, "old")
    with pytest.raises(error), replacing_folder(target) as staging:
        (staging / "weights").write_text("new weights")
        raise error()
    assert _contents(target) == {"weights": "old weights", "config": "old config",
                                 "metrics": "old metrics"}  # fmt: skip
    assert os.listdir(tmp_path) == ["run"]  # the staging folder is gone


def test_a_failed_second_rename_puts_the_old_folder_back(tmp_path, monkeypatch):
    monkeypatch.setattr(run_folder, "_libc_exchange", lambda a, b: False)
    target = tmp_path / "run"
    target.mkdir()
    _fill(target, "old")
    real_replace = os.replace

    def replace(src, dst):
        if ".minigrad-new-" in str(src):
            raise OSError(5, "I/O error")
        return real_replace(src, dst)

    monkeypatch.setattr(run_folder.os, "replace", replace)
    with pytest.raises(OSError), replacing_folder(target) as staging:
        _fill(staging, "new")
    assert _contents(target)["weights"] == "old weights"
    assert os.listdir(tmp_path) == ["run"]


def test_a_symlinked_target_replaces_the_folder_it_points_to(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    _fill(real, "old")
    link = tmp_path / "link"
    link.symlink_to(real)
    with replacing_folder(link) as staging:
        _fill(staging, "new")
    assert link.is_symlink() and _contents(real)["weights"] == "new weights"


def test_check_can_replace(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        check_can_replace(tmp_path / "file")
    with pytest.raises(OSError):
        check_can_replace(tmp_path / "file" / "run")
    check_can_replace(tmp_path / "new" / "run")  # creates the parents, leaves nothing else
    assert os.listdir(tmp_path / "new") == []
