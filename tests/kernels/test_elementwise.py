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
