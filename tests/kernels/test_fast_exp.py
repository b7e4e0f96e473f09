"""The vectorisable float32 exp: within 2 ulp of NumPy on (MIN_ARG, 0], 0 below, NaN kept."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from numba import njit

from minigrad.kernels.fast_exp import MIN_ARG, exp_nonpositive_f32, exp_nonpositive_reference


@njit(cache=True)
def exp_array(t: np.ndarray, out: np.ndarray) -> None:
    for i in range(t.shape[0]):
        out[i] = exp_nonpositive_f32(t[i])


def fast(t: np.ndarray) -> np.ndarray:
    t = np.ascontiguousarray(t, dtype=np.float32)
    out = np.empty_like(t)
    exp_array(t, out)
    return out


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # positive float32s are ordered like their int32 bit patterns
    return np.abs(a.view(np.int32).astype(np.int64) - b.view(np.int32).astype(np.int64))


def test_every_float32_from_minus_88_to_zero():
    # all 2**30-odd floats would take too long; every 97th bit pattern covers each binade densely
    bits = np.arange(np.float32(0).view(np.int32), np.float32(88).view(np.int32), 97)
    t = -bits.view(np.float32)
    t = t[t >= MIN_ARG]
    got, want = fast(t), exp_nonpositive_reference(t)
    assert ulp_distance(got, want).max() <= 2
    exact = np.exp(t.astype(np.float64))
    assert np.max(np.abs(got - exact) / exact) < 3e-7


@given(st.floats(min_value=-200, max_value=0, width=32))
@example(0.0)
@example(-0.0)
@example(float(MIN_ARG))
@example(-87.3365478515625)  # the float just below MIN_ARG
@example(-1e-45)  # the smallest subnormal
def test_matches_reference_within_2_ulp(t):
    got = fast(np.array([t]))[0]
    want = exp_nonpositive_reference(np.array([t]))[0]
    if t < MIN_ARG:
        assert got == 0.0
    else:
        assert ulp_distance(np.array([got]), np.array([want]))[0] <= 2


@pytest.mark.nojit
def test_specials():
    t = np.array([0.0, -np.inf, np.nan, -1000.0, -1.0], dtype=np.float32)
    got = fast(t)
    assert got[0] == 1.0 and got[1] == 0.0 and np.isnan(got[2]) and got[3] == 0.0
    np.testing.assert_allclose(got[4], np.exp(np.float32(-1.0)), rtol=3e-7)
