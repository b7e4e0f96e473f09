"""Reductions: sum, mean, variance, max and min over some dimensions.

A reduction maps many input elements to one output element, so in backward each output
gradient is sent back to (spread over) the elements it came from.  ``dim`` is an int, a tuple of
ints or None (all dimensions); ``keepdim`` keeps reduced dimensions with size 1.
"""

from __future__ import annotations

import numpy as np

from minigrad.autograd import Function
from minigrad.ops.elementwise import ApplyMask


def normalize_dims(dim, ndim: int) -> tuple[int, ...]:
    """``dim`` (int, tuple or None) as a sorted tuple of non-negative axes; checks the range."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"dimension {d} is out of range for a tensor with {ndim} dimensions")
        out.append(int(d) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"dimension repeated in dim={dim}")
    return tuple(sorted(out)) if ndim else ()


def _keepdim_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` with the reduced ``axes`` kept as size 1: ``((2, 3), (1,)) -> (2, 1)``."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _expand_back_graph(grad, shape: tuple[int, ...], axes: tuple[int, ...]):
    """``_expand_back`` in Tensor ops (a reshape: the reduced axes come back as size 1)."""
    return grad.reshape(_keepdim_shape(shape, axes))


def _expand_back(grad: np.ndarray, shape: tuple[int, ...], axes: tuple[int, ...], keepdim: bool):
    """Re-insert the reduced axes into ``grad`` so that it broadcasts against the input."""
    if not keepdim and axes:
        grad = np.expand_dims(grad, axes)
    return grad


class Sum(Function):
    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, a, dim=None, keepdim=False):
        self.shape = a.shape
        self.axes = normalize_dims(dim, a.ndim)
        self.keepdim = keepdim
        return a.sum(axis=self.axes, keepdims=keepdim)

    def backward(self, grad):
        # d(sum a)/da_i = 1: every input element gets the output's gradient
        g = _expand_back(grad, self.shape, self.axes, self.keepdim)
        return np.broadcast_to(g, self.shape)

    def backward_graph(self, grad):
        return _expand_back_graph(grad, self.shape, self.axes).broadcast_to(self.shape)


class Mean(Function):
    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, a, dim=None, keepdim=False):
        self.shape = a.shape
        self.axes = normalize_dims(dim, a.ndim)
        self.keepdim = keepdim
        self.count = int(np.prod([a.shape[i] for i in self.axes]))
        return a.mean(axis=self.axes, keepdims=keepdim)

    def backward(self, grad):
        # d(mean a)/da_i = 1/N
        g = _expand_back(grad, self.shape, self.axes, self.keepdim)
        return np.broadcast_to(g / self.count, self.shape)

    def backward_graph(self, grad):
        g = _expand_back_graph(grad, self.shape, self.axes)
        return (g / self.count).broadcast_to(self.shape)


class Var(Function):
    def forward(self, a, dim=None, correction=1, keepdim=False):
        self.axes = normalize_dims(dim, a.ndim)
        self.keepdim = keepdim
        n = int(np.prod([a.shape[i] for i in self.axes]))
        self.denom = max(n - correction, 0)  # as PyTorch: never a negative divisor
        self.centered = a - a.mean(axis=self.axes, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.centered * self.centered).sum(
                axis=self.axes, keepdims=keepdim
            ) / self.denom

    def backward(self, grad):
        # var = sum (a - mean)^2 / (N - c)  =>  d var/da_i = 2 (a_i - mean) / (N - c)
        # (the mean's own dependence on a_i drops out because sum(a - mean) = 0)
        g = _expand_back(grad, self.centered.shape, self.axes, self.keepdim)
        # (N - c = 0 gives an infinite factor, so NaN or inf gradients as in PyTorch, no crash)
        return g * self.centered * (2.0 / self.denom if self.denom else np.inf)

    def backward_graph(self, grad):
        # the same formula with a - mean(a) recomputed in Tensor ops: its derivative (1 - 1/N
        # on the diagonal) is what the second derivative of the variance is made of
        a = self.inputs[0]
        centered = a - a.mean(dim=self.axes, keepdim=True)
        g = _expand_back_graph(grad, a.shape, self.axes)
        return g * centered * (2.0 / self.denom if self.denom else np.inf)


class Std(Function):
    """Standard deviation, ``sqrt(var)``, with ``Var``'s arguments.

    Backward by the chain rule: d std/da_i = (d var/da_i) / (2 std).  Where the spread is zero
    (a constant row) std = 0 and the factor 1 / (2 std) is infinite, but every d var/da_i is 0
    there too: the gradient is taken as 0, as PyTorch does, not inf * 0 = NaN.  (With no
    degrees of freedom left, N - correction <= 0, std is NaN or inf and so is its gradient, as
    in PyTorch.)
    """

    def forward(self, a, dim=None, correction=1, keepdim=False):
        self.var = Var()
        with np.errstate(invalid="ignore"):
            self.out = np.sqrt(self.var.forward(a, dim=dim, correction=correction, keepdim=keepdim))
        return self.out

    def backward(self, grad):
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(self.out == 0, 0, grad / (2 * self.out))  # d std / d var, 0 at std = 0
            return self.var.backward(g)

    def backward_graph(self, grad):
        # (d var/da) / (2 std) in Tensor ops, with a - mean and std recomputed as ops of a, so
        # that their own derivatives make up the second derivative; 0 where std = 0, as above
        # (there std is computed as sqrt(0 + 1), so that no 1 / 0 enters the graph)
        a, axes, denom = self.inputs[0], self.var.axes, self.var.denom
        zero = (self.out == 0).reshape(_keepdim_shape(a.shape, axes))
        inv = 1.0 / denom if denom else np.inf
        centered = a - a.mean(dim=axes, keepdim=True)
        var = (centered * centered).sum(dim=axes, keepdim=True) * inv
        std = (var + zero.astype(a.dtype)).sqrt()
        g = ApplyMask.apply(
            _expand_back_graph(grad, a.shape, axes) / (std * 2.0), mask=(~zero).astype(a.dtype)
        )
        return g * centered * (2.0 * inv)


class _Extreme(Function):
    """amax / amin: ties share the gradient equally (as ``torch.amax``)."""

    graph_reads_inputs = False  # backward_graph: made of grad alone

    pick = staticmethod(np.max)

    def forward(self, a, dim=None, keepdim=False):
        if a.size == 0:
            raise ValueError(f"{type(self).__name__.lower()} of an empty tensor")
        self.a = a
        self.axes = normalize_dims(dim, a.ndim)
        self.keepdim = keepdim
        self.out = self.pick(a, axis=self.axes, keepdims=True)
        return self.out if keepdim else np.squeeze(self.out, axis=self.axes)

    def backward(self, grad):
        # the gradient flows to the element(s) that were the extreme; k tied ones get 1/k each
        hit = self.a == self.out
        count = hit.sum(axis=self.axes, keepdims=True)
        g = _expand_back(grad, self.a.shape, self.axes, self.keepdim)
        return g * hit / count

    def backward_graph(self, grad):
        # which elements were the extreme is piecewise constant: a constant share each
        share = (self.a == self.out) / (self.a == self.out).sum(axis=self.axes, keepdims=True)
        g = _expand_back_graph(grad, self.a.shape, self.axes)
        return ApplyMask.apply(g, mask=share.astype(grad.dtype))


class AMax(_Extreme):
    pick = staticmethod(np.max)


class AMin(_Extreme):
    pick = staticmethod(np.min)
