"""nn.Embedding's PyTorch options: from_pretrained(freeze=...), max_norm (rows renormalised in
place before the lookup), scale_grad_by_freq (dense and sparse), padding_idx (issue 18.6)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.sparse import RowSparseGrad
from minigrad.testing import assert_matches_torch, gradcheck


def _torch():
    return pytest.importorskip("torch", reason="differential test: needs PyTorch")


@st.composite
def tables_and_ids(draw):
    """(table (V, d) float64, ids with repeats, padding_idx or None)."""
    v = draw(st.integers(1, 6))
    d = draw(st.integers(1, 3))
    table = draw(hnp.arrays(np.float64, (v, d), elements=st.floats(-3, 3)))
    ids = draw(
        hnp.arrays(np.int64, draw(st.sampled_from([(4,), (2, 3)])), elements=st.integers(0, v - 1))
    )
    padding = draw(st.none() | st.integers(-v, v - 1))
    return table, ids, padding


@pytest.mark.torch
@given(tables_and_ids(), st.booleans(), st.booleans())
def test_scale_grad_by_freq_matches_torch_dense_and_sparse(case, sparse, with_padding):
    """(PyTorch refuses scale_grad_by_freq with sparse=True; minigrad's sparse gradient must
    hold the values of torch's dense one.)"""
    torch = _torch()
    table, ids, padding = case
    padding = padding if with_padding else None

    def lookup(functional, sparse):
        return lambda w, i: functional.embedding(
            i, w, padding_idx=padding, scale_grad_by_freq=True, sparse=sparse
        )

    w = mg.tensor(table, requires_grad=True)
    assert_matches_torch(lookup(F, sparse), lookup(torch.nn.functional, False), w, ids)
    F.embedding(ids, w, scale_grad_by_freq=True, sparse=sparse).sum().backward()
    assert isinstance(w.grad, RowSparseGrad) == sparse


@given(tables_and_ids(), st.booleans())
def test_scale_grad_by_freq_is_the_true_gradient_divided_by_each_ids_count(case, sparse):
    """Not a derivative (no finite difference can check it, as for the padding row): the true
    gradient, which the plain lookup's gradcheck covers, with row r divided by r's count."""
    table, ids, padding = case
    if padding is None:
        w = mg.tensor(table, requires_grad=True)
        assert gradcheck(lambda w: F.embedding(ids, w) ** 2, w)
    grads = []
    for scale in (False, True):
        w = mg.tensor(table, requires_grad=True)
        out = F.embedding(ids, w, padding, scale_grad_by_freq=scale, sparse=sparse)
        (out**2).sum().backward()
        grads.append(w.grad.to_dense() if sparse else w.grad)
    counts = np.maximum(np.bincount(ids.reshape(-1), minlength=table.shape[0]), 1)
    np.testing.assert_allclose(grads[1], grads[0] / counts[:, None], rtol=1e-12, atol=1e-15)


def test_scale_grad_by_freq_divides_each_row_by_its_count():
    w = mg.ones(4, 2, dtype="float64", requires_grad=True)
    F.embedding([1, 1, 1, 3], w, scale_grad_by_freq=True).sum().backward()
    np.testing.assert_array_equal(w.grad[:, 0], [0.0, 1.0, 0.0, 1.0])  # 3 / 3 and 1 / 1


@pytest.mark.torch
@given(
    tables_and_ids(),
    st.sampled_from([0.5, 1.0, 2.5]),
    st.sampled_from([1.0, 2.0, 3.0, math.inf]),
    st.booleans(),
)
def test_max_norm_renormalises_the_looked_up_rows_in_place_as_torch(case, max_norm, p, sparse):
    torch = _torch()
    table, ids, padding = case
    ours = nn.Embedding.from_pretrained(
        table.copy(), freeze=False, padding_idx=padding, max_norm=max_norm, norm_type=p,
        sparse=sparse,
    )  # fmt: skip
    theirs = torch.nn.Embedding.from_pretrained(
        torch.tensor(table), freeze=False, padding_idx=padding, max_norm=max_norm, norm_type=p,
        sparse=sparse,
    )  # fmt: skip
    g = np.linspace(-1, 1, ids.size * table.shape[1]).reshape(*ids.shape, -1)
    out = ours(ids)
    th_out = theirs(torch.tensor(ids))
    np.testing.assert_allclose(out.data, th_out.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.weight.data, theirs.weight.detach().numpy(), rtol=1e-12)
    out.backward(g)
    th_out.backward(torch.tensor(g))
    th_grad = theirs.weight.grad
    th_grad = th_grad.to_dense() if th_grad.is_sparse else th_grad
    ours_grad = ours.weight.grad.to_dense() if sparse else ours.weight.grad
    np.testing.assert_allclose(ours_grad, th_grad.numpy(), rtol=1e-12, atol=1e-12)
    norms = np.linalg.norm(ours.weight.data[np.unique(ids)], ord=p, axis=1)
    assert (norms <= max_norm * (1 + 1e-9)).all()


def test_max_norm_changes_only_the_rows_looked_up_and_counts_as_an_in_place_change():
    table = np.array([[3.0, 4.0], [6.0, 8.0], [0.3, 0.4]], np.float32)
    emb = nn.Embedding.from_pretrained(table, max_norm=1.0)
    assert emb.weight.data is table  # the table itself, as in PyTorch
    emb([0, 2, 0])
    np.testing.assert_allclose(table, [[0.6, 0.8], [6.0, 8.0], [0.3, 0.4]], rtol=1e-6)
    x = mg.tensor([[1.0, 1.0]], requires_grad=True)
    tied = x @ emb.weight.T * 1.0  # kept the weight ...
    emb.weight.requires_grad_(True)
    tied = x @ emb.weight.T
    emb([1])  # ... which max_norm then changes in place
    with pytest.raises(RuntimeError, match="modified in place"):
        tied.sum().backward()
    with pytest.raises(ValueError, match="max_norm"):
        F.embedding([0], emb.weight, max_norm=float("nan"))


@pytest.mark.torch
def test_from_pretrained_matches_torch():
    torch = _torch()
    table = np.arange(8.0, dtype=np.float32).reshape(4, 2)
    for kwargs in ({}, {"freeze": False}, {"padding_idx": 1}, {"freeze": False, "padding_idx": -1}):
        ours = nn.Embedding.from_pretrained(table.copy(), **kwargs)
        theirs = torch.nn.Embedding.from_pretrained(torch.tensor(table), **kwargs)
        assert ours.weight.requires_grad == theirs.weight.requires_grad
        assert ours.padding_idx == theirs.padding_idx
        np.testing.assert_array_equal(ours.weight.data, table)  # the padding row is kept
        assert repr(ours) == repr(theirs)
        if ours.weight.requires_grad:
            ours([1, 3, 1]).sum().backward()
            theirs(torch.tensor([1, 3, 1])).sum().backward()
            np.testing.assert_array_equal(ours.weight.grad, theirs.weight.grad.numpy())
    emb = nn.Embedding.from_pretrained(mg.tensor(table), freeze=False, sparse=True)
    assert emb.weight.requires_grad and emb.sparse
    with pytest.raises(ValueError, match="2-D"):
        nn.Embedding.from_pretrained(np.ones(4))
    with pytest.raises(ValueError, match="_weight must have shape"):
        nn.Embedding(3, 2, _weight=np.ones((2, 3)))


@given(tables_and_ids())
def test_scale_grad_by_freq_under_create_graph_gives_the_plain_backwards_numbers(case):
    """backward(create_graph=True) runs the lookup's backward_graph: the same scaled gradient
    (dense, as every recorded gradient), itself differentiable."""
    table, ids, padding = case
    plain = mg.tensor(table, requires_grad=True)
    graph = mg.tensor(table, requires_grad=True)
    (F.embedding(ids, plain, padding, scale_grad_by_freq=True) ** 2).sum().backward()
    (F.embedding(ids, graph, padding, scale_grad_by_freq=True) ** 2).sum().backward(
        create_graph=True
    )
    assert graph.grad.requires_grad
    np.testing.assert_allclose(graph.grad.data, plain.grad, rtol=1e-12, atol=1e-12)
