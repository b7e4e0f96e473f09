"""erf: equal to math.erf element by element, any shape and layout."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad.kernels import erf, erf_reference


@given(
    hnp.arrays(
        st.sampled_from([np.float32, np.float64]),
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5),
        elements=st.floats(-10, 10, width=32),
    )
)
def test_erf_matches_math_erf(x):
    got = erf(x)
    assert got.shape == x.shape and got.dtype == x.dtype
    # float32 inputs: numba calls erff, the reference rounds math.erf (double): 1-ulp differences
    rtol = 1e-15 if x.dtype == np.float64 else 2e-7
    np.testing.assert_allclose(got, erf_reference(x), rtol=rtol, atol=1e-30)


@pytest.mark.nojit
def test_erf_special_values_and_layout():
    x = np.array([0.0, 1.0, -np.inf, np.inf, np.nan, -0.5])
    got = erf(x)
    np.testing.assert_array_equal(got[:4], [0.0, math.erf(1.0), -1.0, 1.0])
    assert np.isnan(got[4]) and got[5] == math.erf(-0.5)
    strided = np.arange(12, dtype=np.float32).reshape(3, 4).T / 10
    np.testing.assert_allclose(erf(strided), erf_reference(strided), rtol=2e-7)
    with pytest.raises(TypeError, match="int64"):
        erf(np.arange(3))


def _phi_truth(a):
    """Φ(a) in float64 from math.erfc (no cancellation in either tail)."""
    return np.array([0.5 * math.erfc(-float(v) / math.sqrt(2)) for v in a.reshape(-1)]).reshape(
        a.shape
    )


@given(
    hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6),
        elements=st.floats(-13, 13, width=32),
    )
)
def test_gelu_erf_float32_kernel_is_accurate(a):
    """float32: Φ within 1e-7 (4 + a²) relative of the float64 truth (the conditioning of Φ in
    the left tail), y = a Φ, and the backward within float32 rounding of its reference."""
    from minigrad.kernels import gelu_erf_backward, gelu_erf_backward_reference, gelu_erf_forward

    y, cdf = gelu_erf_forward(a)
    assert y.shape == cdf.shape == a.shape and y.dtype == cdf.dtype == np.float32
    truth = _phi_truth(a)
    a64 = a.astype(np.float64)
    assert (np.abs(cdf - truth) <= 1e-7 * (4 + a64**2) * truth + 1e-37).all()
    np.testing.assert_allclose(y, a64 * truth, rtol=1e-7 * (4 + 169), atol=1e-30)
    g = np.linspace(-2, 2, a.size, dtype=np.float32).reshape(a.shape)
    got = gelu_erf_backward(a, cdf, g)
    want = gelu_erf_backward_reference(a64, truth, g.astype(np.float64))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=5e-7)


@pytest.mark.nojit
def test_gelu_erf_float64_is_the_reference_and_bad_input_raises():
    from minigrad.kernels import (
        gelu_erf_backward,
        gelu_erf_backward_reference,
        gelu_erf_forward,
        gelu_erf_forward_reference,
    )

    a = np.linspace(-6, 6, 25)
    y, cdf = gelu_erf_forward(a)
    yr, cr = gelu_erf_forward_reference(a)
    assert y.tobytes() == yr.tobytes() and cdf.tobytes() == cr.tobytes()
    g = np.ones_like(a)
    assert gelu_erf_backward(a, cdf, g).tobytes() == gelu_erf_backward_reference(a, cr, g).tobytes()
    y32, c32 = gelu_erf_forward(np.array([np.inf, np.nan, 0.0, -20.0], np.float32))
    assert y32[0] == np.inf and np.isnan(y32[1]) and c32[2] == 0.5 and c32[3] == 0
    strided = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4).T
    np.testing.assert_allclose(gelu_erf_forward(strided)[0], strided * _phi_truth(strided), 1e-6)
    with pytest.raises(TypeError, match="int64"):
        gelu_erf_forward(np.arange(3))
    with pytest.raises(ValueError, match="one shape"):
        gelu_erf_backward(a, cdf[:3], g)
