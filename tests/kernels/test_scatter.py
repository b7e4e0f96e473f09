"""scatter_add: equals np.add.at bit for bit, never loses an update, rejects bad input clearly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.kernels import scatter_add, scatter_add_reference

from .strategies import FLOAT_DTYPES, float_rows, ids, zipf_ids


@st.composite
def scatter_case(draw: st.DrawFn):
    dtype = draw(FLOAT_DTYPES)
    V = draw(st.integers(1, 12))
    d = draw(st.integers(0, 9))
    index = draw(ids(V))
    src = draw(float_rows((*index.shape, d), dtype))
    out = draw(float_rows((V, d), dtype)).copy()  # .copy(): out must be C-contiguous
    return out, index, src


@given(scatter_case(), st.sampled_from([None, False, True]))
def test_scatter_add_equals_add_at_bitwise(case, parallel):
    # Each output row is owned by one thread and visited in increasing i, so even the float32
    # sums come out in np.add.at's order: equality is exact, not approximate.
    out, index, src = case
    expected = out.copy()
    scatter_add_reference(expected, index, src)
    scatter_add(out, index, src, parallel=parallel)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.nojit
@pytest.mark.parametrize("parallel", [False, True])
def test_small_example(parallel):
    out = np.zeros((3, 2))
    index = np.array([2, 0, 2], dtype=np.int32)
    src = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    scatter_add(out, index, src, parallel=parallel)
    np.testing.assert_array_equal(out, [[2.0, 2.0], [0.0, 0.0], [4.0, 4.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_single_id_hammer_loses_nothing(dtype):
    # every input row lands on row 3: any unsynchronised parallel write would lose updates
    n, d = 200_000, 16
    index = np.full(n, 3, dtype=np.int64)
    src = np.ones((n, d), dtype=dtype)
    src[::2] = 2.0  # integer-valued: every partial sum is exact, in float32 too (< 2**24)
    out = np.zeros((5, d), dtype=dtype)
    scatter_add(out, index, src, parallel=True)
    np.testing.assert_array_equal(out[3], np.full(d, 300_000.0))
    assert not out[[0, 1, 2, 4]].any()


@pytest.mark.parametrize("kind", ["zipf", "uniform"])
def test_large_parallel_equals_add_at(kind):
    rng = np.random.default_rng(1)
    V, n, d = 3000, 30_000, 33  # odd width: exercises the vector loop's remainder
    index = zipf_ids(rng, n, V) if kind == "zipf" else rng.integers(0, V, n)
    src = rng.standard_normal((n, d)).astype(np.float32)
    out = rng.standard_normal((V, d)).astype(np.float32)
    expected = out.copy()
    np.add.at(expected, index, src)
    scatter_add(out, index, src, parallel=True)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.nojit
@pytest.mark.parametrize("bad", [-1, 5, 1000])
def test_bad_id_raises_index_error_naming_id_and_bound(bad):
    out = np.zeros((5, 2))
    before = out.copy()
    with pytest.raises(IndexError, match=rf"id {bad}\b.*5 rows"):
        scatter_add(out, np.array([0, bad, 1]), np.ones((3, 2)))
    np.testing.assert_array_equal(out, before)  # nothing written


@pytest.mark.nojit
def test_bad_dtypes_and_shapes():
    out = np.zeros((4, 3))
    with pytest.raises(TypeError, match="int64"):
        scatter_add(out.astype(np.int64), np.array([0]), np.ones((1, 3), np.int64))
    with pytest.raises(TypeError, match=r"float64 and float32"):
        scatter_add(out, np.array([0]), np.ones((1, 3), np.float32))
    with pytest.raises(TypeError, match="float64"):
        scatter_add(out, np.array([0.0]), np.ones((1, 3)))
    with pytest.raises(TypeError, match="bool"):
        scatter_add(out, np.array([True]), np.ones((1, 3)))
    with pytest.raises(TypeError, match="list"):
        scatter_add(out, [0], np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 4\)"):
        scatter_add(out, np.array([0, 1]), np.ones((2, 4)))
    with pytest.raises(ValueError, match="2-D"):
        scatter_add(np.zeros(4), np.array([0]), np.ones((1,)))
    with pytest.raises(ValueError, match="C-contiguous"):
        scatter_add(np.zeros((3, 4)).T, np.array([0]), np.ones((1, 3)))
    ro = np.zeros((4, 3))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        scatter_add(ro, np.array([0]), np.ones((1, 3)))


@pytest.mark.nojit
def test_any_index_shape_and_empty():
    out = np.zeros((4, 2))
    index = np.array([[0, 3], [3, 3]], dtype=np.int32)
    src = np.arange(8.0).reshape(2, 2, 2)
    scatter_add(out, index, src)
    np.testing.assert_array_equal(out, [[0, 1], [0, 0], [0, 0], [2 + 4 + 6, 3 + 5 + 7]])
    scatter_add(out, np.zeros(0, np.int64), np.zeros((0, 2)))  # n = 0: a no-op
    scatter_add(np.zeros((0, 2)), np.zeros(0, np.int64), np.zeros((0, 2)))  # V = 0 too
