"""LayerNorm row kernels == their numpy references (float32), and float64 is the reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad.kernels import (
    layer_norm_backward,
    layer_norm_backward_reference,
    layer_norm_forward,
    layer_norm_forward_reference,
)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 12),
    d=st.integers(1, 40),
    seed=st.integers(0, 2**16),
    shift=st.sampled_from([0.0, 10.0]),
    affine=st.booleans(),
)
def test_layer_norm_kernels_match_reference(n, d, seed, shift, affine):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, d)) + shift).astype(np.float32)
    w = rng.standard_normal(d).astype(np.float32) if affine else None
    b = rng.standard_normal(d).astype(np.float32) if affine else None
    y, xhat, rstd = layer_norm_forward(x, w, b, 1e-5)
    yr, xr, rr = layer_norm_forward_reference(x, w, b, 1e-5)
    tol = 2e-5 * (1 + shift)  # the float32 reference's own rounding of the mean grows with it
    np.testing.assert_allclose(rstd, rr, rtol=tol)
    np.testing.assert_allclose(xhat, xr, rtol=tol, atol=tol)
    np.testing.assert_allclose(y, yr, rtol=tol, atol=tol)
    g = rng.standard_normal((n, d)).astype(np.float32)
    got = layer_norm_backward(g, xhat, rstd, w)
    want = layer_norm_backward_reference(g, xr, rr, w)
    for a, e in zip(got, want):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(e).max())))


@pytest.mark.nojit
def test_layer_norm_float64_is_the_reference_and_bad_input_raises():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5))
    w, b = rng.standard_normal(5), rng.standard_normal(5)
    for got, want in zip(
        layer_norm_forward(x, w, b, 1e-5), layer_norm_forward_reference(x, w, b, 1e-5)
    ):
        assert got.tobytes() == want.tobytes()
    x32 = x.astype(np.float32)
    strided = np.asfortranarray(x32)
    np.testing.assert_allclose(
        layer_norm_forward(strided, None, None, 1e-5)[0],
        layer_norm_forward_reference(x32, None, None, 1e-5)[0],
        rtol=1e-5,
        atol=1e-6,
    )
    with pytest.raises(ValueError, match="weight"):
        layer_norm_forward(x32, np.ones(4, np.float32), None, 1e-5)
    with pytest.raises(TypeError, match="float32 or float64"):
        layer_norm_forward(np.zeros((2, 2), np.int64), None, None, 1e-5)
    _, xhat, rstd = layer_norm_forward(x32, None, None, 1e-5)
    with pytest.raises(ValueError, match="do not fit"):
        layer_norm_backward(x32[:2], xhat, rstd, None)
