"""Shape operations: they move or copy elements without changing their values.

So backward just moves the gradient back: reshape it back, permute it back, or (for indexing)
scatter it back to where the elements came from, adding where one element was used twice.

Which return views (the same memory: an in-place change of one is seen in the other), as in
PyTorch: ``View`` always (or it raises), ``Reshape`` and ``Squeeze`` when the memory layout
allows it (else a copy), ``Permute`` (``transpose``, ``.T``), ``Unsqueeze``, and ``GetItem`` with
integers, slices, ``None`` and ``...`` (basic indexing; integer arrays and masks copy).
``BroadcastTo`` (``expand``) is a read-only view.  ``Contiguous`` copies.
"""

from __future__ import annotations

import numpy as np

from minigrad.autograd import Function
from minigrad.ops.reduce import normalize_dims


class Reshape(Function):
    graph_reads_inputs = False  # backward_graph: made of grad alone
    is_view = True

    def forward(self, a, shape=()):
        self.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(
                f"cannot reshape a tensor of shape {a.shape} ({a.size} elements) to {shape}"
            ) from None

    def backward(self, grad):
        # same elements, other shape: reshape the gradient back
        return grad.reshape(self.shape)

    def backward_graph(self, grad):
        return Reshape.apply(grad, shape=self.shape)


class View(Reshape):
    """``x.view(shape)``: the same memory with another shape, or ``RuntimeError``.

    A view exists only when the elements, read in order, sit in memory at steps that the new
    shape can describe (``x.T.view(-1)`` cannot: a transpose reads memory out of order).
    ``reshape`` then copies; ``view`` refuses, as in PyTorch, so that code relying on shared
    memory never silently gets a copy.
    """

    def forward(self, a, shape=()):
        out = super().forward(a, shape)
        if out.size and not np.may_share_memory(out, a):  # numpy had to copy
            steps = tuple(s // a.itemsize for s in a.strides)
            asked = ", ".join(map(str, shape))
            raise RuntimeError(
                f"view({asked}): this tensor's elements (shape {a.shape}, memory steps {steps} "
                f"elements) cannot be seen as shape {out.shape} without copying them; use "
                ".reshape(...), which copies when it has to, or .contiguous().view(...)"
            )
        return out


class Contiguous(Function):
    """``x.contiguous()`` of a tensor whose memory is not in row-major order: a copy that is."""

    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, a):
        return np.array(a, order="C")

    def backward(self, grad):
        # the same elements, copied: the gradient passes through
        return grad

    def backward_graph(self, grad):
        return grad  # the identity, in any order of memory


class Permute(Function):
    graph_reads_inputs = False  # backward_graph: made of grad alone
    is_view = True

    def forward(self, a, dims=()):
        if sorted(d % max(a.ndim, 1) for d in dims) != list(range(a.ndim)):
            raise ValueError(f"permute dims {dims} are not a permutation of {a.ndim} dimensions")
        self.dims = dims
        return a.transpose(dims)

    def backward(self, grad):
        # undo the permutation with its inverse
        return grad.transpose(np.argsort([d % grad.ndim for d in self.dims]))

    def backward_graph(self, grad):
        inverse = tuple(int(i) for i in np.argsort([d % max(grad.ndim, 1) for d in self.dims]))
        return Permute.apply(grad, dims=inverse)


class Squeeze(Function):
    graph_reads_inputs = False  # backward_graph: made of grad alone
    is_view = True

    def forward(self, a, dim=None):
        self.shape = a.shape
        if dim is None:
            return a.reshape([n for n in a.shape if n != 1])
        axes = normalize_dims(dim, a.ndim)
        keep = [n for i, n in enumerate(a.shape) if not (i in axes and n == 1)]
        return a.reshape(keep)  # like PyTorch, dims whose size is not 1 are left alone

    def backward(self, grad):
        return grad.reshape(self.shape)

    def backward_graph(self, grad):
        return Reshape.apply(grad, shape=self.shape)


class Unsqueeze(Function):
    graph_reads_inputs = False  # backward_graph: made of grad alone
    is_view = True

    def forward(self, a, dim=0):
        if not -(a.ndim + 1) <= dim <= a.ndim:
            raise IndexError(f"unsqueeze dim {dim} out of range for {a.ndim} dimensions")
        self.shape = a.shape
        return np.expand_dims(a, dim)

    def backward(self, grad):
        return grad.reshape(self.shape)

    def backward_graph(self, grad):
        return Reshape.apply(grad, shape=self.shape)


class BroadcastTo(Function):
    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, a, shape=()):
        try:
            return np.broadcast_to(a, shape)
        except ValueError:
            raise ValueError(f"cannot expand a tensor of shape {a.shape} to {shape}") from None

    def backward(self, grad):
        # every copy's gradient is summed back: the engine's unbroadcast does exactly that
        return grad

    def backward_graph(self, grad):
        return grad  # the engine's unbroadcast, in Tensor ops (a recorded sum)


def _is_advanced(key) -> bool:
    """True when ``key`` uses integer or boolean arrays (numpy 'advanced' indexing)."""
    parts = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, (np.ndarray, list)) for k in parts)


class GetItem(Function):
    graph_reads_inputs = False  # backward_graph: made of grad alone
    is_view = True  # basic indexing returns a view (advanced indexing a copy: sharing is safe)

    def forward(self, a, key=None):
        self.advanced = _is_advanced(key)
        if self.advanced:
            # own the index arrays: backward reuses them, and the caller may change theirs in place
            if isinstance(key, tuple):
                key = tuple(k.copy() if isinstance(k, np.ndarray) else k for k in key)
            elif isinstance(key, np.ndarray):
                key = key.copy()
        self.shape, self.dtype, self.key = a.shape, a.dtype, key
        try:
            out = a[key]
        except IndexError as exc:
            raise IndexError(
                f"index {key!r} is invalid for a tensor of shape {a.shape}: {exc}"
            ) from None
        if not self.advanced and type(out) is not np.ndarray:
            # integers down to one element: numpy gives a scalar (a copy); with a trailing
            # `...` it gives a 0-d view, as PyTorch's x[0] is
            out = a[(*key, Ellipsis) if isinstance(key, tuple) else (key, Ellipsis)]
        return out

    def backward(self, grad):
        # each output element came from one input element: put its gradient back there.
        # With integer arrays one input element may be picked several times, so the gradients
        # must be added (np.add.at), not assigned (a[i] = g would keep only the last one).
        out = np.zeros(self.shape, dtype=grad.dtype)
        if self.advanced:
            np.add.at(out, self.key, grad)
        else:
            out[self.key] = grad
        return out

    def backward_graph(self, grad):
        return PlaceAt.apply(grad, key=self.key, shape=self.shape)


class PlaceAt(Function):
    """``PlaceAt.apply(x, key=k, shape=s)``: zeros of shape ``s`` with ``x`` added at ``[k]``.

    GetItem's backward as an op of its own, so that it can be differentiated: it is linear in
    ``x``, and its own backward reads the upstream gradient back at ``[k]``, which is GetItem.
    """

    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, x, key=None, shape=()):
        self.key = key
        out = np.zeros(shape, dtype=x.dtype)
        if _is_advanced(key):
            np.add.at(out, key, x)  # an element picked twice gets both gradients
        else:
            out[key] = x
        return out

    def backward(self, grad):
        # d out[k] / d x = 1 at the places x went to: read the gradient back from there
        return np.array(grad[self.key], copy=True)

    def backward_graph(self, grad):
        return GetItem.apply(grad, key=self.key)


class TakeAlongDim(Function):
    """Pick one element per slice along ``dim`` (used by ``max(dim)`` / ``min(dim)``)."""

    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, a, indices=None, dim=0):
        self.shape, self.indices, self.dim = a.shape, indices, dim
        return np.take_along_axis(a, indices, axis=dim)

    def backward(self, grad):
        # the picked element gets the gradient, the others nothing
        out = np.zeros(self.shape, dtype=grad.dtype)
        np.put_along_axis(out, self.indices, grad, axis=self.dim)
        return out

    def backward_graph(self, grad):
        return PutAlongDim.apply(grad, indices=self.indices, dim=self.dim, shape=self.shape)


class PutAlongDim(Function):
    """Zeros of ``shape`` with ``x`` put at ``indices`` along ``dim``: TakeAlongDim's backward
    as an op (the indices pick one element per slice, so nothing is written twice)."""

    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, x, indices=None, dim=0, shape=()):
        self.indices, self.dim = indices, dim
        out = np.zeros(shape, dtype=x.dtype)
        np.put_along_axis(out, indices, x, axis=dim)
        return out

    def backward(self, grad):
        return np.take_along_axis(grad, self.indices, axis=self.dim)

    def backward_graph(self, grad):
        return TakeAlongDim.apply(grad, indices=self.indices, dim=self.dim)


def _join(join, arrays, dim, what: str, dims_of: str, mismatch: str) -> np.ndarray:
    """``join(arrays, axis=dim)`` (np.concatenate or np.stack), with errors that name ``what``.

    An axis out of range is an ``IndexError`` (for tensors with ``dims_of`` dimensions), shapes
    that do not fit a ``ValueError`` (``mismatch``, which may use ``{shapes}`` and ``{dim}``).
    """
    if not arrays:
        raise ValueError(f"{what}() needs at least one tensor")
    try:
        return join(arrays, axis=dim)
    except np.exceptions.AxisError:  # before ValueError, of which it is a subclass
        raise IndexError(
            f"{what}: dim {dim} is out of range for {dims_of} {np.ndim(arrays[0])} dimensions"
        ) from None
    except ValueError:
        shapes = [a.shape for a in arrays]
        raise ValueError(f"{what}: " + mismatch.format(shapes=shapes, dim=dim)) from None


class Cat(Function):
    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, *arrays, dim=0):
        out = _join(np.concatenate, arrays, dim, "cat", "tensors with",
                    "shapes {shapes} do not match outside dim {dim}")  # fmt: skip
        self.dim = dim % out.ndim
        self.bounds = np.cumsum([a.shape[self.dim] for a in arrays])[:-1]
        return out

    def backward(self, grad):
        # cut the gradient into the pieces that were concatenated
        return tuple(np.split(grad, self.bounds, axis=self.dim))

    def backward_graph(self, grad):
        # each input's piece of the gradient, cut out by slicing (GetItem, differentiable)
        starts = [0, *self.bounds]
        ends = [*self.bounds, grad.shape[self.dim]]
        lead = (slice(None),) * self.dim
        return tuple(
            GetItem.apply(grad, key=(*lead, slice(int(s), int(e)))) if t is not None else None
            for t, s, e in zip(self.inputs, starts, ends)
        )


class Stack(Function):
    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, *arrays, dim=0):
        out = _join(np.stack, arrays, dim, "stack", "stacking tensors with",
                    "all tensors need the same shape, got {shapes}")  # fmt: skip
        self.dim = dim % out.ndim
        return out

    def backward(self, grad):
        # slice number i along dim came from input i
        return tuple(np.take(grad, i, axis=self.dim) for i in range(grad.shape[self.dim]))

    def backward_graph(self, grad):
        lead = (slice(None),) * self.dim
        return tuple(
            GetItem.apply(grad, key=(*lead, i)) if t is not None else None
            for i, t in enumerate(self.inputs)
        )
