"""Graph pictures of any expression: ``minigrad graph --expr``, ``minigrad.viz.draw``, and the
safe expression language behind them (``minigrad.expression``)."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad.cli import main
from minigrad.expression import ExpressionError, evaluate, parse_values, variables
from minigrad.viz import draw, graphviz_available, to_dot
from tests.cli.support import PNG_MAGIC, assert_one_line_error


@pytest.fixture
def no_graphviz(tmp_path, monkeypatch):
    """A PATH on which there is no Graphviz `dot` (whether or not this machine has one)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert not graphviz_available()


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_graph_expr_draws_a_png_without_graphviz(tmp_path, capsys, no_graphviz):
    out = tmp_path / "g.png"
    args = ["--expr", "tanh(a*b + b**2)", "--values", "a=2,b=-3", "-o", str(out)]
    assert main(["graph", *args]) == 0
    width, height = _png_size(out)
    assert width > 400 and height > 150  # a picture, drawn by matplotlib
    printed = capsys.readouterr().out
    # y = tanh(-6 + 9); dy/da = b (1 - y^2), dy/db = (a + 2b)(1 - y^2): b is used twice
    slope = 1 - np.tanh(3.0) ** 2
    assert f"y = {np.tanh(3.0):.4g}" in printed
    assert f"dy/da = {-3 * slope:.4g}" in printed
    assert f"dy/db = {-4 * slope:.4g}" in printed
    assert not (tmp_path / "g.dot").exists()


def test_graph_expr_dot_shows_op_shape_value_and_signed_gradient(tmp_path):
    out = tmp_path / "g.dot"
    args = ["--expr", "tanh(a*b + b**2)", "--values", "a=2, b=-3", "-o", str(out)]
    assert main(["graph", *args]) == 0
    dot = out.read_text()
    slope = 1 - np.tanh(3.0) ** 2
    assert 'label="a\\nshape ()\\nvalue 2\\ngrad ' + f"{-3 * slope:.4g}" in dot
    assert 'label="a*b\\nop Mul\\nshape ()\\nvalue -6\\ngrad ' in dot
    assert 'label="b**2\\nop Pow' in dot and "op Tanh" in dot and "op Add" in dot
    assert dot.count("->") == 6  # a, b -> a*b; b -> b**2; both -> +; + -> tanh


def test_graph_expr_with_tensors_and_svg(tmp_path, capsys, no_graphviz):
    out = tmp_path / "g.svg"
    values = "x=[1, 2], W=[[1, 0.5, 2], [-1, 0, 1]], b=[0, 0.1, -0.2]"
    assert main(["graph", "--expr", "relu(x @ W + b)", "--values", values, "-o", str(out)]) == 0
    assert "<svg" in out.read_text()
    printed = capsys.readouterr().out
    assert "y = [0, 0.6, 3.8]" in printed  # relu(x @ W + b)
    assert "dy/dx = [2.5, 1]" in printed  # columns 2 and 3 of W, summed (column 1 is cut)


def test_graph_expr_prints_dot_without_output_file(capsys):
    assert main(["graph", "--expr", "x**3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("digraph minigrad") and "x**3" in out and "value 3.375" in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--expr", "a[0]"], "'a[0]' is not allowed"),
        (["--expr", "__import__('os').system('true')"], "unknown function \"__import__('os')"),
        (["--expr", "a.__class__"], "'a.__class__' is not allowed"),
        (["--expr", "lambda: 1"], "not allowed"),
        (["--expr", "tanh(a"], "cannot parse"),
        (["--expr", "sin(a)"], "unknown function 'sin'"),
        (["--expr", "tanh(a, b)"], "tanh() takes 1 argument"),
        (["--expr", "a + 'x'"], "only numbers"),
        (["--expr", "2 + 3"], "no variables"),
        (["--expr", "a @ b"], "cannot compute 'a @ b'"),
        (["--expr", "a*b", "--values", "a=2, c=1"], "values given for c"),
        (["--expr", "a*b", "--values", "a=x"], "must be a number"),
        (["--expr", "a*b", "--values", "a=[1, [2]]"], "rectangular"),
        (["--expr", "a*b", "--values", "a=1e999"], "not finite"),
        (["--expr", "a*b", "--values", "2"], "name=value"),
        (["--values", "a=1"], "--values needs --expr"),
        (["--expr", "a", "-o", "g.pdf"], "-o must end in .svg, .png or .dot"),
        (["--expr", "a", "-o", "no/such/folder/g.png"], "does not exist"),
    ],
)
def test_bad_expressions_and_values_are_one_line_errors(args, fragment, capsys, tmp_path):
    assert main(["graph", *args]) == 2
    assert_one_line_error(capsys.readouterr().err, fragment)


def test_expression_language():
    y, leaves = evaluate("tanh(w1*x1 + w2*x2 + bias) * pi", parse_values("x1=2, w1=-3"))
    assert list(leaves) == ["w1", "x1", "w2", "x2", "bias"]  # in order of first use
    assert variables("b*a + ab") == ["b", "a", "ab"]
    assert all(t.dtype == np.float64 and t.requires_grad for t in leaves.values())
    assert leaves["w1"].item() == -3.0 and leaves["w2"].item() == 2.0  # defaults never 0
    assert y.name == "tanh(w1*x1 + w2*x2 + bias) * pi"
    assert y.grad_fn.inputs[0].name == "tanh(w1*x1 + w2*x2 + bias)"
    with pytest.raises(ExpressionError, match="at most"):
        evaluate("+".join(["a"] * 500))
    with pytest.raises(ExpressionError, match="empty"):
        evaluate("  ")


def test_names_survive_backward_in_pictures(tmp_path):
    """Names given as ``t.name`` or ``names=`` are still in the picture after a plain backward,
    when the intermediates have been replaced by their array-free stand-ins."""
    x = mg.tensor([0.5, -1.0], requires_grad=True)
    x.name = "x"
    h = x.tanh()
    h.name = "hidden"
    z = h * 3
    loss = (z * z).sum()
    loss.backward()  # no retain_graph: h and z are freed
    dot = to_dot(loss, names={"z": z})
    assert 'label="hidden\\nop Tanh' in dot
    assert 'label="z\\nop Mul' in dot
    assert 'label="x\\nshape (2,)\\nvalue [0.5, -1]\\ngrad [' in dot
    path = draw(loss, tmp_path / "after.dot", names={"z": z})
    assert "hidden" in path.read_text()


def test_draw_from_python_png_without_graphviz(tmp_path, no_graphviz):
    a = mg.tensor(2.0, requires_grad=True)
    a.name = "a"
    y = (a * a + 1).log()
    out = draw(y, tmp_path / "y.png", title="log(a*a + 1)", backward=True)
    assert out == tmp_path / "y.png"
    _png_size(out)
    assert a.grad == pytest.approx(4 / 5)  # backward=True ran the backward pass
    with pytest.raises(ValueError, match=r"y\.gif"):
        draw(y, tmp_path / "y.gif")
