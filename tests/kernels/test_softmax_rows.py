"""Row softmax kernels (head cross-entropy, causal attention) == their numpy references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from minigrad.kernels import (
    causal_softmax_,
    causal_softmax_backward_,
    causal_softmax_backward_reference,
    causal_softmax_reference,
    softmax_xent_rows_,
    softmax_xent_rows_reference,
)


def _logits(n, c, seed, spread):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, c)) * spread).astype(np.float32), rng


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 9),
    c=st.integers(1, 70),
    seed=st.integers(0, 2**16),
    spread=st.sampled_from([0.1, 3.0, 40.0]),
    grads=st.booleans(),
)
@example(n=2, c=33, seed=0, spread=1000.0, grads=True)  # rows far beyond exp's range
def test_softmax_xent_rows_matches_reference(n, c, seed, spread, grads):
    z, rng = _logits(n, c, seed, spread)
    t = rng.integers(0, c, n).astype(np.int64)
    valid = rng.random(n) < 0.8
    w = (rng.random(n) + 0.5).astype(np.float32) if grads else None
    zk, zr = z.copy(), z.copy()
    lk, lr = np.empty(n, np.float32), np.empty(n, np.float32)
    softmax_xent_rows_(zk, t, valid, w, lk)
    softmax_xent_rows_reference(zr, t, valid, w, lr)
    np.testing.assert_allclose(lk, lr, rtol=2e-5, atol=2e-5)
    assert (lk[~valid] == 0).all()
    if grads:
        np.testing.assert_allclose(zk, zr, rtol=1e-5, atol=1e-6)
        assert (zk[~valid] == 0).all()
        # each valid row of the gradient sums to 0 (softmax sums to 1, minus the one-hot)
        np.testing.assert_allclose(zk.sum(axis=1), 0, atol=1e-5)


@pytest.mark.nojit
def test_softmax_xent_rows_special_values_and_bad_input():
    z = np.array([[0.0, 0.0], [np.nan, 1.0], [np.inf, 0.0], [5.0, -np.inf]], np.float32)
    t = np.array([1, 1, 0, 1])
    loss = np.empty(4, np.float32)
    g = z.copy()
    softmax_xent_rows_(g, t, np.ones(4, bool), np.ones(4, np.float32), loss)
    assert np.isclose(loss[0], np.log(2)) and np.isnan(loss[1]) and np.isnan(loss[2])
    assert loss[3] == np.inf  # the target's logit is -inf
    np.testing.assert_allclose(g[0], [0.5, -0.5])
    z64 = np.zeros((1, 3))  # float64: the reference path, same contract
    l64 = np.empty(1)
    softmax_xent_rows_(z64, np.array([2]), np.ones(1, bool), None, l64)
    assert np.isclose(l64[0], np.log(3))
    with pytest.raises(IndexError, match="target class 2"):
        softmax_xent_rows_(z[:, :2].copy(), np.array([0, 2, 0, 0]), np.ones(4, bool), None, loss)
    with pytest.raises(ValueError, match="C-contiguous"):
        softmax_xent_rows_(np.zeros((4, 4), np.float32).T, t, np.ones(4, bool), None, loss)
    with pytest.raises(ValueError, match="loss"):
        softmax_xent_rows_(z.copy(), t, np.ones(4, bool), None, np.empty(4))
    with pytest.raises(TypeError, match="floating-point"):
        softmax_xent_rows_(np.zeros((4, 2), np.int64), t, np.ones(4, bool), None, loss)


@settings(max_examples=40, deadline=None)
@given(
    lead=st.sampled_from([(1,), (3,), (2, 2)]),
    t=st.integers(1, 20),
    seed=st.integers(0, 2**16),
    spread=st.sampled_from([0.1, 3.0, 100.0]),
)
def test_causal_softmax_and_backward_match_reference(lead, t, seed, spread):
    rng = np.random.default_rng(seed)
    s = (rng.standard_normal((*lead, t, t)) * spread).astype(np.float32)
    scale = 0.125
    pk, pr = causal_softmax_(s.copy(), scale), causal_softmax_reference(s.copy(), scale)
    np.testing.assert_allclose(pk, pr, rtol=1e-5, atol=1e-6)
    assert (pk[..., np.triu_indices(t, 1)[0], np.triu_indices(t, 1)[1]] == 0).all()
    np.testing.assert_allclose(pk.sum(axis=-1), 1, rtol=1e-5)
    dp = rng.standard_normal(s.shape).astype(np.float32)
    dk = causal_softmax_backward_(dp.copy(), pk, scale)
    dr = causal_softmax_backward_reference(dp.copy(), pr, scale)
    np.testing.assert_allclose(dk, dr, rtol=1e-4, atol=1e-6)


@pytest.mark.nojit
def test_causal_softmax_float64_and_bad_input():
    s = np.zeros((2, 3, 3))
    p = causal_softmax_(s, 1.0)  # float64: the reference path
    np.testing.assert_allclose(p[0], [[1, 0, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]])
    with pytest.raises(ValueError, match=r"\(\.\.\., T, T\)"):
        causal_softmax_(np.zeros((2, 3), np.float32), 1.0)
    with pytest.raises(ValueError, match="scale"):
        causal_softmax_(np.zeros((3, 3), np.float32), 0.0)
    with pytest.raises(ValueError, match="C-contiguous"):
        causal_softmax_(np.zeros((3, 3), np.float32).T, 1.0)
    with pytest.raises(ValueError, match="must match"):
        causal_softmax_backward_(np.zeros((3, 3), np.float32), np.zeros((2, 2), np.float32), 1.0)
