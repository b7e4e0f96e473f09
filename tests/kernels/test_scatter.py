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


def assert_close_to_add_at(out, expected, out_before, index, src):
    """Equal up to the rounding of a different summation order (the parallel kernel's)."""
    n, d = index.size, out.shape[1]
    flat_src = np.abs(src.reshape(n, d)).astype(np.float64)
    magnitude = np.abs(out_before).astype(np.float64)
    np.add.at(magnitude, index.reshape(-1), flat_src)  # sum of |terms| per element
    eps = np.finfo(out.dtype).eps
    bound = 4 * (n + 1) * eps * magnitude + np.finfo(out.dtype).tiny
    assert np.all(np.abs(out.astype(np.float64) - expected) <= bound)


@given(scatter_case(), st.sampled_from([None, False]), st.booleans())
def test_serial_scatter_add_equals_add_at_bitwise(case, parallel, zero_first):
    # one thread adds the rows in increasing i, as np.add.at does: equality is exact
    out, index, src = case
    expected = np.zeros_like(out) if zero_first else out.copy()
    scatter_add_reference(expected, index, src)
    scatter_add(out, index, src, parallel=parallel, zero_first=zero_first)
    np.testing.assert_array_equal(out, expected)


@given(scatter_case(), st.booleans())
def test_parallel_scatter_add_equals_add_at_up_to_summation_order(case, zero_first):
    out, index, src = case
    before = np.zeros_like(out) if zero_first else out.copy()
    expected = before.copy()
    scatter_add_reference(expected, index, src)
    garbage = out.copy()
    scatter_add(out, index, src, parallel=True, zero_first=zero_first)
    assert_close_to_add_at(out, expected, before, index, src)
    again = garbage.copy()  # deterministic: the same call gives the same bits
    scatter_add(again, index, src, parallel=True, zero_first=zero_first)
    np.testing.assert_array_equal(again, out)


@given(scatter_case())
def test_parallel_scatter_add_is_exact_on_integer_valued_data(case):
    # integer-valued floats have exact sums in any order: any lost or doubled row shows up
    out, index, src = case
    src = np.round(src * 4)
    out = np.round(out * 4)
    expected = out.copy()
    scatter_add_reference(expected, index, src)
    scatter_add(out, index, src, parallel=True)
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


@pytest.mark.parametrize("zero_first", [False, True])
@pytest.mark.parametrize("kind", ["zipf", "uniform"])
def test_large_inputs_serial_and_parallel(kind, zero_first):
    rng = np.random.default_rng(1)
    V, n, d = 3000, 30_000, 33  # odd width: exercises the vector loop's remainder
    index = zipf_ids(rng, n, V) if kind == "zipf" else rng.integers(0, V, n)
    src = rng.standard_normal((n, d)).astype(np.float32)
    out = rng.standard_normal((V, d)).astype(np.float32)
    before = np.zeros_like(out) if zero_first else out.copy()
    expected = before.copy()
    np.add.at(expected, index, src)
    serial, parallel = out.copy(), out.copy()
    scatter_add(serial, index, src, parallel=False, zero_first=zero_first)
    np.testing.assert_array_equal(serial, expected)
    scatter_add(parallel, index, src, parallel=True, zero_first=zero_first)
    assert_close_to_add_at(parallel, expected, before, index, src)


def test_parallel_falls_back_to_serial_when_private_tables_would_not_fit(monkeypatch):
    from minigrad.kernels import scatter as scatter_module

    monkeypatch.setattr(scatter_module, "PARALLEL_MAX_SCRATCH_BYTES", 100)
    out = np.zeros((10, 4))
    index = np.array([1, 1, 3])
    src = np.arange(12.0).reshape(3, 4)
    scatter_add(out, index, src, parallel=True)
    expected = np.zeros((10, 4))
    np.add.at(expected, index, src)
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
