"""row_sparse_sum / merge_row_sparse: equal to the np.unique + np.add.at references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.kernels import (
    merge_row_sparse,
    merge_row_sparse_reference,
    row_sparse_sum,
    row_sparse_sum_reference,
    unique_first_seen,
)

from .strategies import FLOAT_DTYPES, float_rows, ids, zipf_ids


@st.composite
def sparse_case(draw: st.DrawFn):
    dtype = draw(FLOAT_DTYPES)
    V = draw(st.sampled_from([1, 5, 30, 10**9]))  # 10**9: ids far apart, nothing is O(V)
    d = draw(st.integers(0, 6))
    index = draw(ids(min(V, 1000)))
    if V == 10**9:
        index = index * 999_983
    src = draw(float_rows((*index.shape, d), dtype))
    return index, src


def assert_row_sparse_equal(got, expected):
    (gi, gv), (ei, ev) = got, expected
    assert gi.dtype == np.int64 and gi.ndim == 1
    assert (np.diff(gi) > 0).all(), "indices must be sorted and unique"
    np.testing.assert_array_equal(gi, ei)
    assert gv.dtype == ev.dtype and gv.shape == ev.shape
    np.testing.assert_array_equal(gv, ev)  # serial: same order of additions per row, exact


@given(sparse_case())
def test_row_sparse_sum_equals_reference(case):
    index, src = case
    assert_row_sparse_equal(row_sparse_sum(index, src), row_sparse_sum_reference(index, src))


@given(sparse_case(), sparse_case())
def test_merge_equals_reference(case_a, case_b):
    (ia, sa), (ib, sb) = case_a, case_b
    d = min(sa.shape[-1], sb.shape[-1])
    a = row_sparse_sum(ia, np.ascontiguousarray(sa[..., :d]).astype(np.float64))
    b = row_sparse_sum(ib, np.ascontiguousarray(sb[..., :d]).astype(np.float64))
    assert_row_sparse_equal(merge_row_sparse(*a, *b), merge_row_sparse_reference(*a, *b))


@pytest.mark.parametrize("kind", ["zipf", "uniform"])
def test_large_parallel_equals_reference(kind):
    rng = np.random.default_rng(2)
    n, d, V = 40_000, 40, 100_000
    index = zipf_ids(rng, n, V) if kind == "zipf" else rng.integers(0, V, n)
    src = rng.standard_normal((n, d)).astype(np.float32)
    expected = row_sparse_sum_reference(index, src)
    assert_row_sparse_equal(row_sparse_sum(index, src, parallel=False), expected)
    indices, values = row_sparse_sum(index, src, parallel=True)
    np.testing.assert_array_equal(indices, expected[0])
    # the threads sum each row in a different order: equal up to float32 rounding
    np.testing.assert_allclose(values, expected[1], rtol=1e-4, atol=1e-3)
    exact = np.round(src * 4)  # integer-valued: exact in any order
    assert_row_sparse_equal(
        row_sparse_sum(index, exact, parallel=True), row_sparse_sum_reference(index, exact)
    )


@pytest.mark.nojit
def test_small_examples():
    indices, values = row_sparse_sum(np.array([7, 2, 7]), np.array([[1.0, 1], [2, 2], [3, 3]]))
    np.testing.assert_array_equal(indices, [2, 7])
    np.testing.assert_array_equal(values, [[2, 2], [4, 4]])
    uniq, inverse = unique_first_seen(np.array([5, 3, 5, 9]))
    np.testing.assert_array_equal(uniq, [5, 3, 9])
    np.testing.assert_array_equal(inverse, [0, 1, 0, 2])
    i, v = merge_row_sparse(
        np.array([1, 4]), np.array([[1.0], [2.0]]), np.array([4, 9]), np.array([[10.0], [20.0]])
    )
    np.testing.assert_array_equal(i, [1, 4, 9])
    np.testing.assert_array_equal(v, [[1], [12], [20]])
    i, v = row_sparse_sum(np.zeros((0, 3), np.int64), np.zeros((0, 3, 2)))
    assert i.shape == (0,) and v.shape == (0, 2)


@pytest.mark.nojit
def test_errors():
    with pytest.raises(IndexError, match=r"id -3\b"):
        row_sparse_sum(np.array([1, -3]), np.ones((2, 2)))
    with pytest.raises(IndexError, match=r"id 10\b.*10 rows"):
        row_sparse_sum(np.array([1, 10]), np.ones((2, 2)), num_rows=10)
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        row_sparse_sum(np.array([1, 2]), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"sorted and unique.*4 then 4"):
        merge_row_sparse(np.array([1, 4, 4]), np.ones((3, 1)), np.array([2]), np.ones((1, 1)))
    with pytest.raises(TypeError, match="int64"):
        merge_row_sparse(np.array([1], np.int32), np.ones((1, 1)), np.array([2]), np.ones((1, 1)))
    with pytest.raises(ValueError, match="row width, got 1 and 2"):
        merge_row_sparse(np.array([1]), np.ones((1, 1)), np.array([2]), np.ones((1, 2)))
    with pytest.raises(TypeError, match="same dtype"):
        merge_row_sparse(np.array([1]), np.ones((1, 1)), np.array([2]), np.ones((1, 1), np.float32))
