"""``minigrad explain``: the seed's numbers, printed and returned."""

from __future__ import annotations

import io
import re

import numpy as np

from minigrad.cli import main
from minigrad.explain import SEED_MATRIX, explain, fmt_vec
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
    assert "w <- w - lr * dL/dw for W and for E,  lr = 0.5" in out
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


def test_backprop_step_shows_the_formulas_with_their_numbers(capsys):
    assert main(["explain", "--seed-example"]) == 0
    out = capsys.readouterr().out
    assert "dL/dlogits = (softmax(logits) - one_hot(target)) / N,   N = 2" in out
    assert "dL/dW = dL/dlogits^T @ x" in out
    assert "dL/dE[i] = sum over the inputs k with id i of ((p_k - y_k) / N) @ W" in out
    r = explain("I love AI", seed_example=True, out=io.StringIO())
    n, v = r.probs.shape
    one_hot = np.eye(v)[[1, 2]]  # targets: 'love', 'AI'
    # the numbers printed are backward()'s, and they are what the formulas say
    np.testing.assert_allclose(r.grad_logits, (r.probs - one_hot) / n, atol=1e-7)
    x = r.embedding_before[[0, 1]]  # inputs 'I', 'love'
    np.testing.assert_allclose(r.grad_weight, r.grad_logits.T @ x, atol=1e-7)
    np.testing.assert_allclose(r.grad[[0, 1]], r.grad_logits @ r.weight_before, atol=1e-7)
    for k in range(n):
        assert f"(p - y) / 2           {fmt_vec(r.grad_logits[k], 4, 7, fixed=True)}" in out


def test_update_shows_w_as_well_as_e(capsys):
    r = explain("I love AI", seed_example=True, out=io.StringIO())
    np.testing.assert_allclose(r.weight_after, r.weight_before - r.lr * r.grad_weight, atol=1e-7)
    assert (r.weight_after != r.weight_before).all()  # every row of W moves
    assert main(["explain", "--seed-example"]) == 0
    out = capsys.readouterr().out
    assert "W[0] ('I')" in out and "W[2] ('AI')" in out
    assert f"      - 0.5 * {fmt_vec(r.grad_weight[2], fixed=True)}" in out
    assert "the loss drop comes from both: updating only E gives" in out


def test_check_prints_a_finite_difference_beside_every_gradient_number(capsys):
    assert main(["explain", "--seed-example", "--check"]) == 0
    out = capsys.readouterr().out
    r = explain("I love AI", seed_example=True, out=io.StringIO(), check=True)
    # 6 logits + 12 of W + 12 of E: each printed with its finite difference
    assert len(re.findall(r"\(fd [ -]\d\.\d{4}\)", out)) == 6 + 12 + 12
    assert f"{r.grad_logits[0, 1]: .4f} (fd {r.check['logits'][0, 1]: .4f})" in out
    for key, analytic in (("logits", r.grad_logits), ("W", r.grad_weight), ("E", r.grad)):
        np.testing.assert_allclose(analytic, r.check[key], atol=1e-6)
    assert "backward() and finite differences agree: max |difference| = " in out
    assert explain("I love AI", seed_example=True, out=io.StringIO()).check is None
    assert "(fd " not in explain_text()


def explain_text() -> str:
    buffer = io.StringIO()
    explain("I love AI", seed_example=True, out=buffer)
    return buffer.getvalue()
