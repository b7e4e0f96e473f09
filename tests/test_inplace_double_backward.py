"""In-place ops on non-leaves and second derivatives (issue 18.3 meets issue 15).

A recorded in-place op is an ordinary node, so ``create_graph=True`` differentiates through it
(its ``backward_graph``), and a view changed in place after use still differentiates twice.
What cannot be answered is refused: ``backward_graph`` recomputes from the input tensors, so an
input whose values changed in place since it was used makes a double backward refuse (PyTorch,
which differentiates through saved values instead, allows some of these).
"""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad.testing import gradgradcheck
from tests.test_double_backward_ops import _op_classes


def leaf(values):
    return mg.tensor(values, dtype="float64", requires_grad=True)


def _torch():
    return pytest.importorskip("torch", reason="differential test: needs PyTorch")


def program(lib, a, b):
    """In-place arithmetic on a non-leaf and through a view, after earlier uses."""
    y = a * b
    first = y.sum() + y[0].sum()  # uses y (and a view) before they change
    row = y[1]
    row.mul_(b)  # y and row get new histories
    y += a.exp()
    return first + (y * y * a).sum() + (row * row).sum()


def test_second_derivatives_through_in_place_ops_match_torch():
    torch = _torch()
    rng = np.random.default_rng(3)
    a0, b0 = rng.standard_normal((2, 3)), rng.standard_normal(3)
    a, b = leaf(a0), leaf(b0)
    (ga,) = mg.grad(program(mg, a, b), a, create_graph=True)
    (hb,) = mg.grad(ga.sum(), b)
    ta = torch.tensor(a0, requires_grad=True)
    tb = torch.tensor(b0, requires_grad=True)
    (tga,) = torch.autograd.grad(program(torch, ta, tb), ta, create_graph=True)
    (thb,) = torch.autograd.grad(tga.sum(), tb)
    np.testing.assert_allclose(ga.data, tga.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(hb.data, thb.numpy(), rtol=1e-10)


def test_in_place_programs_pass_gradgradcheck():
    rng = np.random.default_rng(4)
    assert gradgradcheck(
        lambda a, b: program(mg, a, b), leaf(rng.standard_normal((2, 3))), leaf(rng.random(3))
    )


def test_a_double_backward_refuses_when_a_read_input_changed_in_place():
    x = leaf([1.0, 2.0])
    h = x * 1.0
    y = h.exp().sum()  # Exp keeps its output: a plain backward is still right ...
    h += 1.0  # (recorded: h is not a leaf)
    with pytest.raises(RuntimeError, match="an input of ExpBackward was modified in place"):
        y.backward(create_graph=True)  # ... but backward_graph would read h's new values
    y.backward()
    np.testing.assert_allclose(x.grad, np.exp([1.0, 2.0]))


def test_ops_that_say_their_double_backward_reads_no_input_do_not():
    """``graph_reads_inputs = False`` lets a double backward run past inputs changed in place:
    such an op's backward_graph may look at its inputs only to see which need a gradient."""
    allowed = r"self\.inputs\[\d\] is (not )?None|zip\(self\.inputs|enumerate\(self\.inputs\)"
    for name, cls in _op_classes().items():
        if cls.graph_reads_inputs:
            continue
        src = re.sub(allowed, "", inspect.getsource(cls.backward_graph))
        assert "self.inputs" not in src and "operand(" not in src, name
