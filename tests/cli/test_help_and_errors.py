"""Every command has --help; user mistakes give exit code 2 and one line, in and out of process."""

from __future__ import annotations

import pytest

from minigrad.cli import main
from tests.cli.support import assert_one_line_error, run_cli

COMMANDS = [
    [],
    ["explain"],
    ["train"],
    ["neighbors"],
    ["graph"],
    ["tokenizer"],
    ["tokenizer", "train"],
    ["tokenizer", "encode"],
    ["tokenizer", "decode"],
    ["demo"],
    ["generate"],
]


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c) or "minigrad")
def test_help_of_every_command(cmd, capsys):
    assert main([*cmd, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: minigrad")
    assert "--help" in out


def test_help_lists_every_command(capsys):
    main(["--help"])
    out = capsys.readouterr().out
    for name in ("explain", "train", "neighbors", "graph", "tokenizer", "demo"):
        assert name in out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: minigrad" in capsys.readouterr().out


def test_subprocess_help_and_missing_corpus(tmp_path):
    top = run_cli("--help", cwd=tmp_path)
    assert top.returncode == 0 and "explain" in top.stdout
    missing = run_cli("train", "--corpus", "no_such_file.txt", "--out", "o", cwd=tmp_path)
    assert missing.returncode == 2
    assert_one_line_error(missing.stderr, "corpus file not found: 'no_such_file.txt'")
    assert not (tmp_path / "o").exists()  # nothing written for a run that never started


def test_empty_corpus_is_a_clear_error(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n", encoding="utf-8")
    assert main(["train", "--corpus", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert_one_line_error(capsys.readouterr().err, "is empty")


def test_too_small_corpus_and_bad_numbers_are_clear_errors(tmp_path, capsys):
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("hi there", encoding="utf-8")
    out = str(tmp_path / "o")
    assert main(["train", "--corpus", str(tiny), "--vocab-size", "260", "--out", out]) == 2
    assert_one_line_error(capsys.readouterr().err, "too small")
    assert main(["train", "--steps", "0", "--out", out]) == 2
    assert_one_line_error(capsys.readouterr().err, "--steps must be at least 1, got 0")
    assert main(["train", "--model", "rnn", "--out", out]) == 2
    assert "invalid choice: 'rnn'" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    assert main(["train", "--steps", "many"]) == 2
    assert "invalid int value" in capsys.readouterr().err
