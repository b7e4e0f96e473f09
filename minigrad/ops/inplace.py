"""The ops that only in-place changes need: overwriting (``fill_``, ``copy_``, ``x[k] = v``) and
the two nodes that carry an in-place change of a view over to its base.

An in-place op on a tensor that requires grad is recorded like any other op (see
``minigrad/tensor_inplace.py``): ``y.mul_(2)`` runs ``Mul`` on y's old values, writes the result
into y's memory and makes that ``Mul`` node y's ``grad_fn``.  Arithmetic reuses the ordinary ops;
this module adds what has no out-of-place twin:

* ``Fill`` (``fill_``, ``zero_``), ``CopyFrom`` (``copy_``), ``SetItem`` (``y[key] = value``):
  the overwritten elements no longer depend on their old values, so their gradient is 0.
* A view ``v`` shares memory with its base ``b``: ``v.mul_(2)`` changes ``b`` too, so ``b``
  gets a new history, ``CopySlices`` ("b, with v's elements replaced by the new ones"), and
  ``v`` becomes ``ViewOfBase`` (that region of the new ``b``), as in PyTorch.

Which elements of the base a view holds is found by taking the view again of an array of
element numbers (:func:`view_index`), so these nodes work for any chain of view ops.
"""

from __future__ import annotations

import numpy as np

from minigrad.autograd import Function, constant
from minigrad.ops.elementwise import ApplyMask
from minigrad.ops.embedding import ScatterRows
from minigrad.ops.shape import GetItem, Reshape


def replay_view(chain, a: np.ndarray) -> np.ndarray:
    """Apply the view ops of ``chain`` (``ViewInfo.chain``) to ``a``: the same view of ``a``.

    Values, not memory, are what count here, so ``view`` is replayed as ``reshape`` (which may
    copy an array laid out differently from the base).
    """
    for op, kwargs in chain:
        a = (Reshape if issubclass(op, Reshape) else op)().forward(a, **kwargs)
    return np.asarray(a)


def view_index(chain, base_shape: tuple[int, ...]) -> np.ndarray:
    """For each element of the view, its flat (C-order) position in the base.

    >>> from minigrad.ops.shape import GetItem
    >>> view_index(((GetItem, {"key": (slice(None), 1)}),), (2, 3))
    array([1, 4])
    """
    size = int(np.prod(base_shape, dtype=np.int64))
    return replay_view(chain, np.arange(size).reshape(base_shape))


class Fill(Function):
    """``Fill.apply(a, value=v)``: a tensor of a's shape full of ``v`` (``fill_``, ``zero_``)."""

    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, a, value=0.0):
        return np.full(a.shape, value, dtype=a.dtype)

    def backward(self, grad):
        # the output does not depend on a: gradient 0 (zeros, as PyTorch, not None)
        return np.zeros_like(grad)

    def backward_graph(self, grad):
        return constant(np.zeros(grad.shape, grad.dtype))  # 0 whatever grad is: a constant


class CopyFrom(Function):
    """``CopyFrom.apply(a, src)``: ``src`` broadcast to a's shape (``a.copy_(src)``)."""

    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, a, src):
        src = np.asarray(src)
        if not np.can_cast(src.dtype, a.dtype, "same_kind"):
            raise TypeError(f"copy_: cannot copy dtype {src.dtype} into dtype {a.dtype}")
        try:
            return np.array(np.broadcast_to(src, a.shape), dtype=a.dtype)
        except ValueError:
            raise ValueError(f"copy_: cannot broadcast shape {src.shape} to {a.shape}") from None

    def backward(self, grad):
        # every element now comes from src (the engine sums broadcast copies back); a gets 0
        return np.zeros_like(grad), grad

    def backward_graph(self, grad):
        return constant(np.zeros(grad.shape, grad.dtype)), grad


class SetItem(Function):
    """``SetItem.apply(a, value, key=k)``: a copy of ``a`` with ``out[k] = value``.

    Backward: the elements at ``k`` were overwritten, so ``a`` gets no gradient there and
    ``value`` gets the gradient of the places it was written to (``grad[k]``, summed back over
    broadcasting by the engine).  With a repeated index only one write survives, but, as in
    PyTorch, every copy of ``value`` gets the gradient of its place.
    """

    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, a, value, key=None):
        self.key = key
        out = a.copy()
        try:
            out[key] = value
        except (IndexError, ValueError) as exc:
            raise type(exc)(f"cannot assign to index {key!r} of shape {a.shape}: {exc}") from None
        return out

    def backward(self, grad):
        ga = np.array(grad, copy=True)
        ga[self.key] = 0
        return ga, grad[self.key]

    def backward_graph(self, grad):
        # both halves are linear in grad: grad times a 0/1 mask, and grad read at the key
        keep = np.ones(grad.shape, grad.dtype)
        keep[self.key] = 0
        return ApplyMask.apply(grad, mask=keep), GetItem.apply(grad, key=self.key)


class CopySlices(Function):
    """The base's new history after an in-place op on one of its views.

    ``CopySlices.apply(base, new_values, chain=..., out=...)``: ``base`` with the elements of
    the view (``chain``) replaced by ``new_values``.  By the time the node is made, those values
    are already in the base's memory (``out``, which ``forward`` returns as it is).

    Backward: the replaced elements got their values from ``new_values``, so their gradient
    goes there (and, through the in-place op that made them, on to the view's old values);
    the base's old values keep the gradient of every other element.
    """

    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, base, new_values, chain=(), out=None):
        self.chain, self.shape = chain, base.shape
        return out

    def backward(self, grad):
        idx = view_index(self.chain, self.shape)
        g_base = np.array(grad, copy=True, order="C")
        flat = g_base.reshape(-1)
        g_new = flat[idx]  # (a gather: a copy)
        flat[idx] = 0
        return g_base, g_new

    def backward_graph(self, grad):
        # as backward, in ops: grad masked off the view's elements, and grad read at them
        idx = view_index(self.chain, self.shape)
        keep = np.ones(self.shape, grad.dtype)
        keep.reshape(-1)[idx] = 0
        return ApplyMask.apply(grad, mask=keep), GetItem.apply(grad.reshape(-1), key=idx)


class ViewOfBase(Function):
    """A view's history taken again from its base's current history (PyTorch's view replay).

    ``ViewOfBase.apply(base, chain=...)``: after an in-place change gave the base a new
    ``grad_fn``, each of its views becomes this node: the same elements (``chain``), now of
    the new base.  Backward puts the view's gradient where its elements sit in the base.
    """

    graph_reads_inputs = False  # backward_graph: made of grad alone

    is_view = True

    def forward(self, base, chain=()):
        self.chain, self.shape = chain, base.shape
        return replay_view(chain, base)

    def backward(self, grad):
        out = np.zeros(self.shape, dtype=grad.dtype)
        out.reshape(-1)[view_index(self.chain, self.shape)] = grad  # a view: no element twice
        return out

    def backward_graph(self, grad):
        # the same placement as an op: each element of grad is a row of one number, scattered
        # to its flat position in the base (ScatterRows, the embedding's backward)
        idx = view_index(self.chain, self.shape).reshape(-1)
        size = int(np.prod(self.shape, dtype=np.int64))
        rows = ScatterRows.apply(grad.reshape(-1, 1), ids=idx, num_rows=size)
        return rows.reshape(self.shape)
