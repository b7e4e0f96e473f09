"""Linear == x @ W.T + b, any leading dims, PyTorch's init; gradcheck (issue 4, property 5)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.testing import gradcheck, gradgradcheck, safe_floats


@st.composite
def linear_cases(draw):
    lead = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
    n_in = draw(st.integers(1, 4))
    n_out = draw(st.integers(1, 4))
    x = draw(hnp.arrays(np.float64, (*lead, n_in), elements=safe_floats()))
    w = draw(hnp.arrays(np.float64, (n_out, n_in), elements=safe_floats()))
    b = draw(st.none() | hnp.arrays(np.float64, (n_out,), elements=safe_floats()))
    return x, w, b


@given(linear_cases())
def test_linear_matches_formula_and_passes_gradcheck(case):
    x, w, b = case
    X = mg.tensor(x, requires_grad=True)
    W = mg.tensor(w, requires_grad=True)
    B = None if b is None else mg.tensor(b, requires_grad=True)
    y = F.linear(X, W, B)
    expect = x @ w.T + (0 if b is None else b)
    assert y.shape == (*x.shape[:-1], w.shape[0])
    np.testing.assert_allclose(y.data, expect, rtol=1e-12, atol=1e-12)
    if B is None:
        assert gradcheck(lambda x_, w_: F.linear(x_, w_), X, W)
        assert gradgradcheck(lambda x_, w_: F.linear(x_, w_), X, W)
    else:
        assert gradcheck(F.linear, X, W, B)
        assert gradgradcheck(F.linear, X, W, B)


def test_linear_module_any_leading_dims_and_no_bias():
    lin = nn.Linear(4, 3, bias=False)
    assert lin.bias is None
    assert [n for n, _ in lin.named_parameters()] == ["weight"]
    x = np.ones((2, 5, 4), np.float32)
    y = lin(mg.tensor(x))
    assert y.shape == (2, 5, 3) and y.dtype == np.float32
    np.testing.assert_allclose(y.data, x @ lin.weight.data.T, rtol=1e-6)
    assert lin(mg.tensor(np.ones(4, np.float32))).shape == (3,)


def test_linear_gradients_match_torch():
    torch = pytest.importorskip("torch")
    mg.manual_seed(0)
    lin = nn.Linear(5, 3, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((2, 4, 5))
    X = mg.tensor(x, requires_grad=True)
    lin(X).tanh().sum().backward()
    tl = torch.nn.Linear(5, 3, dtype=torch.float64)
    with torch.no_grad():
        tl.weight.copy_(torch.from_numpy(lin.weight.data))
        tl.bias.copy_(torch.from_numpy(lin.bias.data))
    tx = torch.tensor(x, requires_grad=True)
    tl(tx).tanh().sum().backward()
    np.testing.assert_allclose(X.grad, tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(lin.weight.grad, tl.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(lin.bias.grad, tl.bias.grad.numpy(), rtol=1e-12)


def test_linear_init_is_uniform_within_one_over_sqrt_in():
    mg.manual_seed(0)
    lin = nn.Linear(100, 400)
    bound = 1 / math.sqrt(100)
    for p in (lin.weight, lin.bias):
        assert p.data.min() >= -bound and p.data.max() <= bound
    w = lin.weight.data
    assert w.shape == (400, 100) and w.dtype == np.float32
    assert abs(w.std() - bound / math.sqrt(3)) < 0.003  # U(-a, a) has std a / sqrt(3)


def test_linear_shape_errors():
    lin = nn.Linear(4, 3)
    with pytest.raises(ValueError, match=r"3 features .* expects 4"):
        lin(mg.tensor(np.ones((2, 3), np.float32)))
    with pytest.raises(ValueError, match="bias"):
        F.linear(mg.tensor(np.ones((2, 4))), lin.weight, mg.tensor(np.ones(4)))
    assert repr(lin) == "Linear(in_features=4, out_features=3, bias=True)"
