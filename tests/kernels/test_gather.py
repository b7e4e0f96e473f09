"""gather_rows: equals np.take on rows exactly, for any ids and layouts; rejects bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.kernels import gather_rows, gather_rows_reference

from .strategies import FLOAT_DTYPES, float_rows, ids, zipf_ids


@st.composite
def gather_case(draw: st.DrawFn):
    dtype = draw(FLOAT_DTYPES)
    V = draw(st.integers(1, 12))
    d = draw(st.integers(0, 9))
    index = draw(ids(V, max_n=60))  # more ids than GATHER_AHEAD: the prefetching path runs
    table = draw(float_rows((V, d), dtype))
    if draw(st.booleans()):
        index = index.astype(np.int32)
    return table, index


@given(gather_case())
def test_gather_equals_take(case):
    table, index = case
    out = gather_rows(table, index)
    expected = gather_rows_reference(table, index)
    assert out.shape == index.shape + (table.shape[1],) and out.dtype == table.dtype
    np.testing.assert_array_equal(out, expected)
    assert out.flags.c_contiguous and not np.shares_memory(out, table)


@pytest.mark.nojit
def test_small_example():
    table = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(
        gather_rows(table, np.array([[2, 0], [2, 2]])),
        [[[4.0, 5.0], [0.0, 1.0]], [[4.0, 5.0], [4.0, 5.0]]],
    )


def test_large_zipf_table():
    rng = np.random.default_rng(3)
    table = rng.standard_normal((100_000, 64)).astype(np.float32)
    index = zipf_ids(rng, 20_000, 100_000)
    np.testing.assert_array_equal(gather_rows(table, index), table[index])


@pytest.mark.nojit
@pytest.mark.parametrize("bad", [-1, 5, 2**40])
def test_out_of_range_id_raises_index_error_naming_it(bad):
    with pytest.raises(IndexError, match=f"{bad}.*5"):
        gather_rows(np.zeros((5, 3), np.float32), np.array([0, bad]))


@pytest.mark.nojit
def test_wrong_types_raise():
    with pytest.raises(TypeError, match="integer"):
        gather_rows(np.zeros((5, 3)), np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="float32 or float64"):
        gather_rows(np.zeros((5, 3), np.int64), np.array([0, 1]))
    with pytest.raises(ValueError, match="2-D"):
        gather_rows(np.zeros(5), np.array([0, 1]))
