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


class _Extreme(Function):
    """amax / amin: ties share the gradient equally (as ``torch.amax``)."""

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
