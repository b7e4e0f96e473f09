"""Embedding: lookup == one-hot @ E; only rows that occurred get gradient (issue 4, 1-3)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import nn, optim
from minigrad.kernels import scatter_add_reference
from minigrad.nn import functional as F
from minigrad.sparse import RowSparseGrad
from minigrad.testing import gradgradcheck


@st.composite
def lookups(draw, max_v=8, max_d=4, dtype=np.float32):
    """(ids, E, G): ids of any shape (repeats likely), a table E (V, d), an upstream grad G."""
    v = draw(st.integers(1, max_v))
    d = draw(st.integers(1, max_d))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    ids = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, v - 1)))
    finite = st.floats(-100, 100, width=32)
    e = draw(hnp.arrays(dtype, (v, d), elements=finite))
    g = draw(hnp.arrays(dtype, (*shape, d), elements=finite))
    return ids, e, g


def _emb_grad(ids, e, g, sparse=False, padding_idx=None):
    E = nn.Parameter(e.copy())
    F.embedding(ids, E, padding_idx=padding_idx, sparse=sparse).backward(g)
    return E.grad


# ---------------------------------------------------------------------------- property 1
@given(lookups())
def test_lookup_equals_one_hot_matmul_exactly(case):
    ids, e, _ = case
    E = mg.tensor(e)
    out = F.embedding(ids, E)
    assert out.shape == ids.shape + (e.shape[1],)
    via_matmul = F.one_hot(ids, e.shape[0]).to(e.dtype) @ E
    np.testing.assert_array_equal(out.data, via_matmul.data)  # exact: only zeros are added
    np.testing.assert_array_equal(out.data, e[ids])


# ---------------------------------------------------------------------------- double backward
@given(lookups(max_v=4, max_d=3, dtype=np.float64), st.booleans(), st.booleans())
def test_lookup_double_backward(case, sparse, pad):
    # the lookup is linear in E, so its second derivative lives in what is built on it (here a
    # square) and in the gradient with respect to the upstream gradient: both go through the
    # scatter (ScatterRows) that create_graph=True records instead of the row-sparse gradient
    ids, e, _ = case
    E = mg.tensor(e / 10, requires_grad=True)
    padding_idx = 0 if pad else None
    assert gradgradcheck(lambda w: F.embedding(ids, w, padding_idx, sparse=sparse) ** 2, E)


# ---------------------------------------------------------------------------- property 2
@given(lookups(dtype=np.float64))
def test_gradient_equals_one_hot_paths_and_scatter_reference(case):
    ids, e, g = case
    v, d = e.shape
    dense = _emb_grad(ids, e, g)
    assert type(dense) is np.ndarray and dense.shape == (v, d)

    # the one-hot matmul path, differentiated by minigrad's own autograd
    E = nn.Parameter(e.copy())
    (F.one_hot(ids, v).to(np.float64) @ E).backward(g)
    oh = np.eye(v)[ids.reshape(-1)]  # (n, V)
    by_formula = oh.T @ g.reshape(-1, d)
    ref = np.zeros_like(e)
    scatter_add_reference(ref, ids, g)

    np.testing.assert_allclose(dense, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(E.grad, ref, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(by_formula, ref, rtol=1e-12, atol=1e-9)

    sparse = _emb_grad(ids, e, g, sparse=True)
    assert isinstance(sparse, RowSparseGrad)
    np.testing.assert_array_equal(sparse.to_dense(), dense)  # same sums, same order


# ---------------------------------------------------------------------------- property 3
@given(lookups(), st.floats(0.01, 1.0))
def test_only_occurring_rows_get_gradient_and_change(case, lr):
    ids, e, g = case
    v = e.shape[0]
    occurred = np.zeros(v, bool)
    occurred[ids.reshape(-1)] = True

    dense = _emb_grad(ids, e, g)
    assert not dense[~occurred].any()  # exactly zero (not merely small) where no id occurred

    sparse = _emb_grad(ids, e, g, sparse=True)
    assert sparse.indices.dtype == np.int64
    np.testing.assert_array_equal(sparse.indices, np.flatnonzero(occurred))  # sorted, unique
    assert sparse.values.shape == (occurred.sum(), e.shape[1])

    for sparse_mode in (False, True):
        emb = nn.Embedding(v, e.shape[1], sparse=sparse_mode)
        emb.weight.data[...] = e
        before = emb.weight.data.copy()
        opt = optim.SGD(emb.parameters(), lr=lr)
        emb(ids).backward(g)
        opt.step()
        after = emb.weight.data
        # untouched rows: the very same bytes
        assert before[~occurred].tobytes() == after[~occurred].tobytes()
        expect = before - np.float32(lr) * dense
        np.testing.assert_allclose(after[occurred], expect[occurred], rtol=1e-5, atol=1e-4)


# ---------------------------------------------------------------------------- accumulation
def test_two_backward_calls_merge_rows():
    emb = nn.Embedding(10, 3, sparse=True)
    a = np.array([1, 4, 4])
    b = np.array([[4, 9]])
    emb(a).sum().backward()
    emb(b).sum().backward()
    g = emb.weight.grad
    assert isinstance(g, RowSparseGrad)
    np.testing.assert_array_equal(g.indices, [1, 4, 9])
    np.testing.assert_array_equal(g.values, [[1.0] * 3, [3.0] * 3, [1.0] * 3])

    dense = nn.Embedding(10, 3)
    dense(a).sum().backward()
    dense(b).sum().backward()
    assert type(dense.weight.grad) is np.ndarray
    np.testing.assert_array_equal(dense.weight.grad, g.to_dense())


def test_sparse_plus_dense_either_order_is_dense():
    g = RowSparseGrad(np.array([0, 2]), np.ones((2, 2)), (3, 2))
    d = np.full((3, 2), 10.0)
    for out in (g + d, d + g):
        assert type(out) is np.ndarray
        np.testing.assert_array_equal(out, [[11, 11], [10, 10], [11, 11]])
    np.testing.assert_array_equal(d, 10.0)  # the operand is not modified
    with pytest.raises(ValueError, match="shape"):
        g + np.zeros((4, 2))


def test_same_table_used_twice_in_one_graph():
    emb = nn.Embedding(6, 2, sparse=True)
    (emb([1, 2]).sum() + emb([2, 5]).sum()).backward()
    np.testing.assert_array_equal(emb.weight.grad.indices, [1, 2, 5])
    np.testing.assert_array_equal(emb.weight.grad.values[:, 0], [1, 2, 1])


def test_sparse_table_that_is_not_a_leaf_gets_a_dense_gradient():
    W = nn.Parameter(np.ones((4, 2), np.float32))
    F.embedding([1, 1], W * 2.0, sparse=True).sum().backward()
    np.testing.assert_array_equal(W.grad, [[0, 0], [4, 4], [0, 0], [0, 0]])


# ---------------------------------------------------------------------------- padding_idx
@pytest.mark.parametrize("sparse", [False, True])
def test_padding_idx_row_gets_no_gradient_and_starts_at_zero(sparse):
    mg.manual_seed(0)
    emb = nn.Embedding(5, 3, padding_idx=0, sparse=sparse)
    assert not emb.weight.data[0].any() and emb.weight.data[1:].any()
    emb([[0, 1, 0], [2, 0, 0]]).sum().backward()
    g = emb.weight.grad
    dense = g.to_dense() if sparse else g
    assert not dense[0].any()
    np.testing.assert_array_equal(dense[1:3], 1.0)
    if sparse:
        assert 0 not in g.indices  # dropped, so an optimizer does not touch that row at all


def test_negative_padding_idx_and_bad_padding_idx():
    assert nn.Embedding(5, 2, padding_idx=-1).padding_idx == 4
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(5, 2, padding_idx=5)


# ---------------------------------------------------------------------------- inputs
def test_ids_as_list_int_tensor_and_scalar():
    emb = nn.Embedding(7, 2)
    w = emb.weight.data
    np.testing.assert_array_equal(emb([3, 1]).data, w[[3, 1]])
    np.testing.assert_array_equal(emb(mg.tensor([[6]])).data, w[[[6]]])
    np.testing.assert_array_equal(emb(np.array([2], np.int32)).data, w[[2]])
    assert emb(4).shape == (2,)
    assert emb(np.zeros((0, 3), np.int64)).shape == (0, 3, 2)


def test_float_ids_raise_type_error():
    emb = nn.Embedding(7, 2)
    with pytest.raises(TypeError, match="float64"):
        emb(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="integer"):
        emb(mg.tensor([1.0]))


@pytest.mark.parametrize("bad", [7, -1, 100])
def test_out_of_range_ids_raise_index_error_naming_id_and_v(bad):
    emb = nn.Embedding(7, 2)
    with pytest.raises(IndexError, match=rf"id {bad} .*num_embeddings=7"):
        emb(np.array([0, bad, 3]))


def test_init_is_standard_normal_and_repr():
    mg.manual_seed(1)
    emb = nn.Embedding(2000, 50)
    w = emb.weight.data
    assert w.dtype == np.float32 and emb.weight.requires_grad
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01
    assert repr(nn.Embedding(5, 2, padding_idx=1, sparse=True)) == (
        "Embedding(5, 2, padding_idx=1, sparse=True)"
    )
    assert nn.Embedding(3, 2, dtype=np.float64).weight.dtype == np.float64
