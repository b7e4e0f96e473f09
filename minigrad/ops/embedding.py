"""Embedding lookup as a differentiable op: forward is a row gather, backward a row scatter-add.

For ids of any shape and a table ``E`` (V x d)::

    out[..., :] = E[ids[...], :]            # forward: read one row per id

That is the one-hot product ``one_hot(ids, V) @ E`` without the zeros.  Its gradient follows from
the same picture: ``dL/dE = one_hot(ids, V).T @ G``, i.e. row ``r`` of ``dL/dE`` is the sum of the
upstream rows ``G[i]`` over every position ``i`` where ``ids[i] == r``, and rows whose id never
occurred get exactly zero.  Two ways to hand that to the optimizer:

* dense (default): a (V, d) ndarray, zeroed and then scatter-added into by ``scatter_add`` (one
  compiled call);
* sparse: only the touched rows, ``(unique sorted ids, summed rows)`` from ``row_sparse_sum``,
  wrapped in ``RowSparseGrad``; its cost depends on the number of ids, not on V.

``padding_idx`` (as in PyTorch): that row is looked up normally but never receives gradient.
``EmbeddingLookupScaled`` is the lookup of ``scale_grad_by_freq=True``: each row's gradient is
divided by how often its id occurs in the batch.
"""

from __future__ import annotations

import numpy as np

from minigrad import kernels
from minigrad.autograd import Function, constant
from minigrad.sparse import RowSparseGrad


class EmbeddingLookup(Function):
    """``EmbeddingLookup.apply(weight, ids=..., padding_idx=None, sparse=False)``.

    ``ids`` is passed as a keyword: it is an integer array, not a differentiable input.
    The caller validates ids first (``nn.functional.embedding``, with
    :func:`minigrad.validate.check_ids_in_range`); no kernel ever sees a bad id.
    """

    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, weight, ids=None, padding_idx=None, sparse=False):
        self.ids = ids
        self.shape = weight.shape
        self.dtype = weight.dtype
        self.padding_idx = padding_idx
        self.sparse = sparse
        return kernels.gather_rows_unchecked(weight, ids)  # a gather: out[i] = weight[ids[i]]

    def backward(self, grad):
        # dL/dE = one_hot(ids).T @ G: row r collects the sum of G[i] over all i with ids[i] == r.
        if grad.dtype != self.dtype:
            grad = grad.astype(self.dtype)
        # flat (n,) ids and (n, d) rows: the kernels' layout (and 0-d ids become one row)
        ids, pad = self.ids.reshape(-1), self.padding_idx
        grad = grad.reshape(ids.shape[0], self.shape[1])
        weight_input = self.inputs[0]
        # A row-sparse gradient goes to leaves only: an op upstream of a computed table would
        # not know what to do with it.
        if self.sparse and weight_input is not None and weight_input.is_leaf:
            return self._sparse_grad(ids, grad, pad)
        # zeroed inside the compiled scatter; a large table's buffer comes back from the cache
        # once the previous step's gradient has been dropped (no fresh pages every step)
        out = kernels.buffer_cache.empty(self.shape, self.dtype)
        kernels.scatter_add(out, ids, grad, zero_first=True)
        if pad is not None:
            out[pad] = 0  # the padding row gets no gradient, however often it occurred
        return out

    def backward_graph(self, grad):
        # the same scatter-add as an op of its own (dense: a recorded graph has no row-sparse
        # tensors), so that the gradient can be differentiated again
        return ScatterRows.apply(
            grad, ids=self.ids, num_rows=self.shape[0], padding_idx=self.padding_idx
        )

    def _sparse_grad(self, ids, grad, pad):
        indices, values = kernels.row_sparse_sum(ids, grad, num_rows=self.shape[0])
        if pad is not None:
            k = int(np.searchsorted(indices, pad))
            if k < indices.shape[0] and indices[k] == pad:
                # drop the row entirely (not a zero row): an optimizer must not touch it at all
                indices = np.delete(indices, k)
                values = np.delete(values, k, axis=0)
        return RowSparseGrad(indices, values, self.shape)


class EmbeddingLookupScaled(EmbeddingLookup):
    """The lookup of ``scale_grad_by_freq=True`` (PyTorch's option): the same forward; in
    backward, the gradient of row r is divided by the number of times r occurs in the ids.

    Every occurrence of id r adds its upstream row to row r's gradient, so a frequent word's
    row gets a large gradient; dividing by the count makes it the average upstream row instead
    of the sum.  Dense and sparse gradients alike; the padding row stays without gradient.
    """

    def backward(self, grad):
        g = super().backward(grad)
        ids = self.ids.reshape(-1)
        if isinstance(g, RowSparseGrad):
            # each kept row's count: ids land on their row of the sorted unique indices (the
            # padding row, dropped from them, is not counted)
            k = g.nnz_rows
            at = np.minimum(np.searchsorted(g.indices, ids), max(k - 1, 0))
            kept = g.indices[at] == ids if k else np.zeros(ids.shape, bool)
            counts = np.bincount(at[kept], minlength=k)
            values = g.values / counts[:, None].astype(g.values.dtype)
            return RowSparseGrad(g.indices, values, g.shape)
        counts = np.bincount(ids, minlength=self.shape[0])
        rows = np.flatnonzero(counts > 1)  # (a row seen once keeps its gradient)
        g[rows] /= counts[rows, None].astype(g.dtype)
        return g

    def backward_graph(self, grad):
        # the scatter-add as an op, then each row times the constant 1 / count (linear in grad)
        counts = np.bincount(self.ids.reshape(-1), minlength=self.shape[0])
        scale = (1.0 / np.maximum(counts, 1)).astype(self.dtype)[:, None]
        return super().backward_graph(grad) * constant(scale)


class ScatterRows(Function):
    """``ScatterRows.apply(rows, ids=..., num_rows=V, padding_idx=None)``: the (V, d) table with
    row ``r`` the sum of ``rows[i]`` over every ``i`` with ``ids[i] == r``.

    EmbeddingLookup's backward as an op, for double backward.  It is linear in ``rows``, and
    its own backward is a lookup again: ``dL/drows[i] = G[ids[i]]`` (0 where ``ids[i]`` is the
    padding row, which never received anything).  A (V, d) scatter with ``np.add.at``: this
    path is for second derivatives, not for speed.
    """

    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, rows, ids=None, num_rows=0, padding_idx=None):
        self.ids, self.padding_idx = ids, padding_idx
        d = rows.shape[-1]
        out = np.zeros((num_rows, d), dtype=rows.dtype)
        np.add.at(out, ids.reshape(-1), rows.reshape(-1, d))
        if padding_idx is not None:
            out[padding_idx] = 0
        return out

    def backward(self, grad):
        out = grad[self.ids]  # (*ids.shape, d): a lookup
        if self.padding_idx is not None:
            out[self.ids == self.padding_idx] = 0
        return out

    def backward_graph(self, grad):
        rows = EmbeddingLookup.apply(grad, ids=self.ids)
        if self.padding_idx is None:
            return rows
        keep = (self.ids != self.padding_idx)[..., None].astype(grad.dtype)
        return rows * keep
