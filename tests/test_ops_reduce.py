"""Reductions (sum, mean, var, max/min, amax/amin) and softmax / log_softmax.

Each property draws a shape and a ``dim`` (None, an int, or a tuple, negatives included) and
checks the forward against numpy and the backward against finite differences.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.testing import gradcheck, shapes, tensors
from tests.autograd_support import check_forward, check_op, reduction_dims


@pytest.mark.parametrize(("method", "reference"), [("sum", np.sum), ("mean", np.mean)])
@given(x=tensors(), keepdim=st.booleans(), data=st.data())
def test_sum_mean(method, reference, x, keepdim, data):
    dim = data.draw(reduction_dims(x.ndim))
    check_op(
        lambda t: getattr(t, method)(dim=dim, keepdim=keepdim),
        lambda a: reference(a, axis=dim, keepdims=keepdim),
        x,
    )


@given(x=tensors(), keepdim=st.booleans(), correction=st.sampled_from([0, 1, 2]), data=st.data())
def test_var(x, keepdim, correction, data):
    dim = data.draw(reduction_dims(x.ndim))
    count = x.data.size // max(np.sum(x.data, axis=dim, keepdims=True).size, 1)
    assume(count > correction)
    check_op(
        lambda t: t.var(dim=dim, correction=correction, keepdim=keepdim),
        lambda a: np.var(a, axis=dim, ddof=correction, keepdims=keepdim),
        x,
    )


def test_var_default_is_bessel_corrected_and_unbiased_flag():
    x = mg.tensor([1.0, 2.0, 4.0], dtype="float64")
    np.testing.assert_allclose(x.var().item(), np.var(x.data, ddof=1))
    np.testing.assert_allclose(x.var(unbiased=False).item(), np.var(x.data))
    np.testing.assert_allclose(x.std().item(), np.std(x.data, ddof=1))


def test_var_of_one_element_gives_nan_gradient_not_an_exception():
    # N - correction = 0: the variance is NaN (0/0) and so is its gradient, as in PyTorch
    x = mg.tensor([3.0], dtype="float64", requires_grad=True)
    with np.errstate(all="ignore"):
        v = x.var()
        assert np.isnan(v.item())
        v.backward()
    assert np.isnan(x.grad).all()


def test_var_with_correction_above_count_divides_by_zero_not_a_negative_number():
    # PyTorch divides by max(N - correction, 0): a variance is never negative
    x = mg.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    with np.errstate(all="ignore"):
        v = x.var(correction=3)
        assert v.item() == np.inf
        v.backward()
    assert np.isinf(x.grad).all()


@pytest.mark.parametrize(("method", "reference"), [("amax", np.max), ("amin", np.min)])
@given(x=tensors(unique=True), keepdim=st.booleans(), data=st.data())
def test_amax_amin_distinct_values(method, reference, x, keepdim, data):
    dim = data.draw(reduction_dims(x.ndim))
    check_op(
        lambda t: getattr(t, method)(dim=dim, keepdim=keepdim),
        lambda a: reference(a, axis=dim, keepdims=keepdim),
        x,
    )


@pytest.mark.parametrize("method", ["amax", "amin", "max", "min"])
@given(
    x=tensors(elements=st.integers(-1, 1).map(float), requires_grad=True),
    data=st.data(),
)
def test_full_extreme_ties_share_the_gradient(method, x, data):
    # amax/amin over any dims, and max()/min() without dim: k tied extremes get 1/k each
    dim = data.draw(reduction_dims(x.ndim)) if method.startswith("am") else None
    pick = np.max if method in ("amax", "max") else np.min
    out = getattr(x, method)(dim=dim) if dim is not None else getattr(x, method)()
    expected_values = np.asarray(pick(x.data, axis=dim))
    assert out.shape == expected_values.shape
    np.testing.assert_array_equal(out.data, expected_values)
    extreme = pick(x.data, axis=dim, keepdims=True)
    g = np.arange(1.0, out.data.size + 1).reshape(out.shape)
    out.backward(g)
    hit = x.data == extreme
    count = hit.sum(axis=dim, keepdims=True)
    g_kept = np.expand_dims(g, dim) if dim is not None else g
    expected = np.where(hit, g_kept / count, 0.0)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("method", "values_ref", "index_ref"), [("max", np.max, np.argmax), ("min", np.min, np.argmin)]
)
@given(x=tensors(shape=shapes(min_dims=1)), keepdim=st.booleans(), data=st.data())
def test_max_min_with_dim_returns_values_and_indices(
    method, values_ref, index_ref, x, keepdim, data
):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    values, indices = getattr(x, method)(dim=dim, keepdim=keepdim)
    assert isinstance(values, mg.Tensor) and isinstance(indices, mg.Tensor)
    expected_idx = index_ref(x.data, axis=dim)
    if keepdim:
        expected_idx = np.expand_dims(expected_idx, dim)
    assert indices.dtype == np.int64 and not indices.requires_grad
    np.testing.assert_array_equal(indices.data, expected_idx)
    np.testing.assert_array_equal(values.data, values_ref(x.data, axis=dim, keepdims=keepdim))
    # the named-tuple fields, as in PyTorch
    named = getattr(x, method)(dim, keepdim)
    np.testing.assert_array_equal(named.values.data, values.data)
    np.testing.assert_array_equal(named.indices.data, indices.data)


@pytest.mark.parametrize("method", ["max", "min"])
@given(x=tensors(shape=shapes(min_dims=1), unique=True), data=st.data())
def test_max_min_with_dim_gradcheck(method, x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    assert gradcheck(lambda t: getattr(t, method)(dim).values, x)


@pytest.mark.parametrize("method", ["max", "min"])
def test_max_min_with_dim_send_the_gradient_to_the_first_tied_index(method):
    x = mg.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    if method == "min":
        x = mg.tensor(-x.data, requires_grad=True)
    values, indices = getattr(x, method)(dim=1)
    np.testing.assert_array_equal(indices.data, [1, 0])
    values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def test_full_max_is_zero_dimensional():
    x = mg.tensor([[1.0, 5.0], [3.0, 2.0]], requires_grad=True)
    m = x.max()
    assert m.shape == () and m.item() == 5.0
    assert x.min().shape == () and x.min().item() == 1.0


def test_argmax_argmin():
    a = np.array([[1.0, 5.0, 5.0], [7.0, 2.0, 7.0]])
    x = mg.tensor(a)
    np.testing.assert_array_equal(x.argmax(dim=1).data, [1, 0])
    np.testing.assert_array_equal(x.argmin(dim=0, keepdim=True).data, [[0, 1, 0]])
    assert x.argmax().item() == 3


# ----------------------------------------------------------------- softmax and log_softmax
def _softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(a, axis):
    s = a - a.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


SOFTMAX = {"softmax": _softmax, "log_softmax": _log_softmax}


@pytest.mark.parametrize("name", SOFTMAX)
@given(x=tensors(shape=shapes(min_dims=1)), data=st.data())
def test_softmax_family(name, x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    check_op(lambda t: getattr(t, name)(dim=dim), lambda a: SOFTMAX[name](a, dim), x)


@given(x=tensors(shape=shapes(min_dims=1)))
def test_softmax_rows_sum_to_one_and_log_softmax_is_its_log(x):
    s = x.softmax(dim=-1).data
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(x.log_softmax(dim=-1).data), s, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", SOFTMAX)
@example(scale=1e4)
@given(scale=st.sampled_from([1e4, -1e4, 3e4]))
def test_softmax_family_stable_at_huge_logits(name, dtype, scale):
    a = np.array([[1.0, -1.0, 0.0], [1.0, 1.0, -1.0], [0.5, 0.0, 0.0]]) * scale
    x = mg.tensor(a, dtype=dtype, requires_grad=True)
    y = getattr(x, name)(dim=1)
    assert np.isfinite(y.data).all()
    np.testing.assert_allclose(y.data, SOFTMAX[name](a, 1), rtol=1e-6, atol=1e-30)
    w = np.array([[0.3, -0.2, 1.0], [1.0, 0.5, 0.0], [2.0, -1.0, 0.5]])
    (y * w.astype(dtype)).sum().backward()
    assert np.isfinite(x.grad).all()
    # exact gradient from the formula in float64: softmax: s*(w - sum(w s)); log: w - s*sum(w)
    s = _softmax(a, 1)
    if name == "softmax":
        expected = s * (w - (w * s).sum(axis=1, keepdims=True))
    else:
        expected = w - s * w.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-5, atol=1e-6)


def test_softmax_large_logits_gradcheck_float64():
    x = mg.tensor([[1e4, 1e4 - 1.0, -1e4]], dtype="float64", requires_grad=True)
    assert gradcheck(lambda t: t.log_softmax(dim=-1), x)
    assert gradcheck(lambda t: t.softmax(dim=-1), x)


@given(x=tensors(shape=shapes(min_dims=1)), keepdim=st.booleans(), data=st.data())
def test_reductions_of_float32_stay_float32(x, keepdim, data):
    dim = data.draw(reduction_dims(x.ndim))
    x32 = x.to(np.float32)
    for method in ("sum", "mean", "amax"):
        check_forward(
            lambda t, m=method: getattr(t, m)(dim=dim, keepdim=keepdim),
            lambda a, m=method: getattr(np, {"amax": "max"}.get(m, m))(
                a, axis=dim, keepdims=keepdim
            ),
            x32,
            rtol=1e-6,
        )


# ----------------------------------------------------------------- std (issue 18.5)
@given(x=tensors(), keepdim=st.booleans(), correction=st.sampled_from([0, 1, 2]), data=st.data())
def test_std(x, keepdim, correction, data):
    dim = data.draw(reduction_dims(x.ndim))
    count = x.data.size // max(np.sum(x.data, axis=dim, keepdims=True).size, 1)
    assume(count > correction)
    # away from a zero spread, where std has a kink (its gradient there is tested below)
    assume(np.all(np.std(x.data, axis=dim) > 1e-3))
    check_op(
        lambda t: t.std(dim=dim, correction=correction, keepdim=keepdim),
        lambda a: np.std(a, axis=dim, ddof=correction, keepdims=keepdim),
        x,
    )


def test_std_of_a_constant_row_has_gradient_zero_not_nan():
    # d std/dx = (x - mean) / ((N - c) std): 0 / 0 at a constant row; PyTorch makes it 0
    x = mg.tensor([[2.0, 2.0, 2.0], [1.0, 2.0, 3.0]], dtype="float64", requires_grad=True)
    x.std(dim=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0.0, 0.0, 0.0], [-0.5, 0.0, 0.5]])
    x.grad = None
    x[0].std().backward()
    np.testing.assert_array_equal(x.grad, np.zeros((2, 3)))


@pytest.mark.torch
@given(
    rows=st.lists(
        st.one_of(
            st.lists(st.sampled_from([-1.0, 0.5, 2.0]), min_size=1, max_size=4),  # ties
            st.integers(1, 4).map(lambda n: [1.5] * n),  # a constant row
        ),
        min_size=1,
        max_size=3,
    ),
    how=st.sampled_from(
        [{}, {"correction": 0}, {"correction": 2}, {"unbiased": False}, {"unbiased": True}]
    ),
    dim=st.sampled_from([None, 1, -1, (0, 1)]),
    keepdim=st.booleans(),
)
def test_std_matches_torch_at_zero_spread_and_with_no_degrees_of_freedom(rows, how, dim, keepdim):
    """Values and gradients, float64, constant rows and single elements included (NaN where
    N - correction <= 0, as in torch)."""
    from minigrad.testing import assert_matches_torch

    width = min(len(r) for r in rows)
    x = mg.tensor([r[:width] for r in rows], dtype="float64", requires_grad=True)
    # (torch's std(unbiased=) without a dim takes no keepdim)
    kwargs = dict(how) if dim is None else dict(how, dim=dim, keepdim=keepdim)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: "degrees of freedom is <= 0"
        assert_matches_torch(lambda t: t.std(**kwargs), lambda t: t.std(**kwargs), x)
