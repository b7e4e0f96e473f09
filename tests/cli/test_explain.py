"""``minigrad explain``: the seed's numbers, printed and returned."""

from __future__ import annotations

import io

import numpy as np

from minigrad.cli import main
from minigrad.explain import SEED_MATRIX, explain
from minigrad.terminal import Style, use_colour
from minigrad.tokenizers import BPETokenizer
from tests.cli.support import assert_one_line_error, run_cli


def test_seed_example_prints_the_seeds_numbers(capsys):
    assert main(["explain", "I love AI", "--seed-example"]) == 0
    out = capsys.readouterr().out
    assert "['I', 'love', 'AI']" in out
    assert "'I' -> 0" in out and "'love' -> 1" in out and "'AI' -> 2" in out
    assert "sequence: [0, 1, 2]" in out
    for row in ("[1, 0, 0]", "[0, 1, 0]", "[0, 0, 1]"):
        assert row in out
    assert "'love' -> id 1 -> E[1] = [0.9, 0.4, 0.2, 0.1]" in out
    assert "one_hot @ E gives the same matrix: yes" in out
    assert "row 2 ('AI'): exactly 0" in out
    assert "grad.indices = [0, 1]" in out
    assert "E[i] <- E[i] - lr * dLoss/dE[i],  lr = 0.5" in out
    assert "\x1b[" not in out  # not a terminal: plain text


def test_the_returned_numbers_obey_the_seeds_rules():
    r = explain("I love AI", seed_example=True, out=io.StringIO())
    assert r.ids == [0, 1, 2]
    assert np.array_equal(r.one_hot, np.eye(3, dtype=np.int64))
    assert np.array_equal(r.embedding_before, SEED_MATRIX)
    assert np.array_equal(r.lookup, r.one_hot_product)  # lookup == one-hot product
    assert r.grad_rows == [0, 1]
    assert not r.grad[2].any() and r.grad[0].any() and r.grad[1].any()
    np.testing.assert_allclose(r.embedding_after, r.embedding_before - r.lr * r.grad, atol=1e-7)
    assert np.array_equal(r.embedding_after[2], SEED_MATRIX[2])  # AI's row did not move
    assert r.loss_after < r.loss


def test_random_matrix_and_repeated_words():
    r = explain("the cat saw the dog", dim=3, seed=1, out=io.StringIO())
    assert r.ids == [0, 1, 2, 0, 3]
    assert r.embedding_before.shape == (4, 3)
    assert r.grad_rows == [0, 1, 2]  # "dog" is last: never an input


def test_seed_example_needs_three_words(capsys):
    assert main(["explain", "a b c d", "--seed-example"]) == 2
    assert_one_line_error(capsys.readouterr().err, "exactly 3 distinct words")


def test_bpe_view_with_a_tokenizer_file(tmp_path, capsys):
    tok = BPETokenizer.train(["I love AI. I love it. AI is fun. " * 20], 300)
    path = tmp_path / "tok.mgbpe"
    tok.save(path)
    assert main(["explain", "--tokenizer", str(path)]) == 0
    out = capsys.readouterr().out
    assert "BPE tokenizer" in out
    assert f"ids: {tok.encode_ordinary('I love AI')}" in out


def test_colour_always_never_and_no_color(capsys, monkeypatch):
    assert main(["explain", "--seed-example", "--color", "always"]) == 0
    assert "\x1b[" in capsys.readouterr().out

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    assert use_colour(Tty()) is True
    assert use_colour(Tty(), "never") is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_colour(Tty()) is False
    assert Style(False).bold("x") == "x"


def test_explain_as_a_subprocess(tmp_path):
    r = run_cli("explain", "--seed-example", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "E[1] = [0.9, 0.4, 0.2, 0.1]" in r.stdout
    assert "\x1b[" not in r.stdout
