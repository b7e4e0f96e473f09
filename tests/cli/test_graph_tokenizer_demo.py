"""``to_dot`` / ``minigrad graph``, ``minigrad tokenizer``, and ``minigrad demo``."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
import minigrad.viz
from minigrad.cli import main
from minigrad.viz import pca_2d, to_dot
from minigrad.viz.graph import format_array
from tests.cli.support import PNG_MAGIC, assert_one_line_error


def test_to_dot_shows_ops_shapes_and_gradient_norms():
    x = minigrad.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    w = minigrad.tensor([[0.5], [-1.0]], requires_grad=True)
    y = (x @ w).tanh().sum()
    before = to_dot(y, names={"x": x, "w": w})
    assert before.startswith("digraph minigrad {") and before.rstrip().endswith("}")
    assert "MatMul" in before and "Tanh" in before and "Sum" in before
    assert "shape (2, 2)" in before and "\\ngrad" not in before
    assert "value [[1, 2]" in before  # small leaves show their values
    y.backward()
    after = to_dot(y, names={"x": x, "w": w})
    # small gradients are shown with their signs, row by row; larger ones as a norm
    assert f"grad [{format_array(x.grad[0])}" in after and "grad [[" in after
    assert float(x.grad[0, 1]) < 0 and "-" in format_array(x.grad[0])  # signed, not a norm
    assert after.count("->") == 4  # x, w -> MatMul -> Tanh -> Sum
    big = minigrad.tensor(np.ones((3, 3)), requires_grad=True)
    (big * 2).sum().backward()
    assert f"|grad| = {np.linalg.norm(big.grad):.4g}" in to_dot(big * 1)


def test_to_dot_handles_deep_graphs_without_recursion():
    x = minigrad.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    assert to_dot(y.sum()).count("->") == 3001


def test_graph_command_prints_dot_or_renders(tmp_path, capsys):
    assert main(["graph"]) == 0
    out = capsys.readouterr().out
    assert "digraph minigrad" in out and "EmbeddingLookup" in out and "|grad|" in out
    target = tmp_path / "g.svg"
    assert main(["graph", "-o", str(target)]) == 0
    # an SVG either way: Graphviz's when installed, matplotlib's when not (never a .dot instead)
    assert "<svg" in target.read_text()
    assert not (tmp_path / "g.dot").exists()


def test_render_dot_calls_graphviz(tmp_path, monkeypatch):
    """With a stand-in `dot` on the PATH: the DOT text goes in, the file named by -o comes out
    (written whole: dot's output is renamed into place)."""
    import os

    from minigrad.viz import graphviz_available, render_dot

    fake = tmp_path / "bin" / "dot"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\ncat > "{tmp_path / "dot.in"}"\necho "<svg $1/>"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    assert graphviz_available()
    out = render_dot("digraph g { a -> b; }\n", tmp_path / "g.svg")
    assert out.read_text().strip() == "<svg -Tsvg/>"
    assert (tmp_path / "dot.in").read_text() == "digraph g { a -> b; }\n"
    with pytest.raises(ValueError, match=r"g\.pdf"):
        render_dot("digraph g {}", tmp_path / "g.pdf")
    # draw() hands pictures to Graphviz whenever it is there
    x = minigrad.tensor(2.0, requires_grad=True)
    x.name = "x"
    minigrad.viz.draw(x * x, tmp_path / "d.svg", backward=True)
    assert (tmp_path / "d.svg").read_text().strip() == "<svg -Tsvg/>"
    assert 'label="x' in (tmp_path / "dot.in").read_text()


def test_pca_spreads_points_along_the_main_direction():
    pts, frac = pca_2d(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.1]]))
    assert frac[0] > 0.99 and pts.shape == (4, 2)


def test_tokenizer_train_encode_decode(tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_text("low lower lowest newer newest wider widest\n" * 50, encoding="utf-8")
    tok = tmp_path / "t.mgbpe"
    assert (
        main(["tokenizer", "train", str(corpus), "--vocab-size", "280", "-o", str(tok), "-q"]) == 0
    )
    capsys.readouterr()
    assert main(["tokenizer", "encode", "-t", str(tok), "lowest newest"]) == 0
    ids_line, tokens_line, _ = capsys.readouterr().out.splitlines()
    assert len(ids_line.split()) < len("lowest newest")  # merges happened
    assert "' newest'" in tokens_line
    assert main(["tokenizer", "decode", "-t", str(tok), *ids_line.split()]) == 0
    assert capsys.readouterr().out == "lowest newest\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tokenizer", "train", "missing.txt"], "corpus file not found"),
        (["tokenizer", "encode", "-t", "missing.mgbpe", "hi"], "tokenizer file not found"),
    ],
)
def test_tokenizer_errors(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    assert_one_line_error(capsys.readouterr().err, message)


def test_tokenizer_empty_corpus_and_unknown_id(tmp_path, capsys):
    empty = tmp_path / "e.txt"
    empty.write_text("", encoding="utf-8")
    assert main(["tokenizer", "train", str(empty), "-o", str(tmp_path / "t")]) == 2
    assert_one_line_error(capsys.readouterr().err, "the corpus is empty")
    corpus = tmp_path / "c.txt"
    corpus.write_text("abc abc abc\n", encoding="utf-8")
    tok = tmp_path / "t.mgbpe"
    assert (
        main(["tokenizer", "train", str(corpus), "--vocab-size", "257", "-o", str(tok), "-q"]) == 0
    )
    assert main(["tokenizer", "decode", "-t", str(tok), "5000"]) == 2
    assert_one_line_error(capsys.readouterr().err, "unknown token id 5000")


def test_demo_explains_then_trains_and_reports(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--steps", "60", "--sentences", "800", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "E[1] = [0.9, 0.4, 0.2, 0.1]" in text
    assert "neighbour agreement: before" in text
    assert str(out / "embeddings.png") in text and str(out / "loss.png") in text
    assert (out / "loss.png").read_bytes()[:8] == PNG_MAGIC
