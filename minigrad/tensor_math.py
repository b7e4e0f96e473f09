"""The math of ``Tensor``: operators, elementwise functions, reductions and shape ops.

``Tensor`` (``tensor.py``) is what a tensor *is*: its data, gradient, link to the graph, dtype
rules and in-place rules. This mixin is what you can *compute* with one. Every method is one
call ``SomeOp.apply(...)`` into ``minigrad/ops/``, where each operation's forward and backward
sit side by side, so reading an op's gradient never means reading this file.

``Tensor`` is the only class that mixes this in; the methods use nothing but ``self``'s data,
``self._operand`` (how ``tensor.py`` turns numbers and arrays into operands) and
``self._wrap`` (a new leaf around an array).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from minigrad.ops.elementwise import (
    Abs,
    Add,
    Clamp,
    Div,
    Exp,
    GeluErf,
    GeluTanh,
    Log,
    Maximum,
    Minimum,
    Mul,
    Neg,
    Pow,
    Relu,
    Sigmoid,
    Sqrt,
    Sub,
    Tanh,
)
from minigrad.ops.matmul import MatMul
from minigrad.ops.reduce import AMax, AMin, Mean, Std, Sum, Var
from minigrad.ops.shape import (
    BroadcastTo,
    Contiguous,
    Permute,
    Reshape,
    Squeeze,
    TakeAlongDim,
    Unsqueeze,
    View,
)
from minigrad.ops.softmax import LogSoftmax, Softmax

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

Dim = int | tuple[int, ...] | None

_DUNDER = {"+": "add", "-": "sub", "*": "mul", "/": "truediv", "**": "pow", "@": "matmul"}


def _binary(op: Any, symbol: str) -> tuple[Callable[..., Tensor], Callable[..., Tensor]]:
    """The two methods of operator ``symbol``: ``self <symbol> other`` and its reflected form.

    Python calls the reflected one (``__radd__``) for ``2 + x``, when the left operand is not a
    Tensor; ``self._operand`` turns that number or array into an operand of ``self``'s dtype.
    """

    def method(self: Any, other: Any) -> Tensor:
        return op.apply(self, self._operand(other))

    def reflected(self: Any, other: Any) -> Tensor:
        return op.apply(self._operand(other), self)

    name, op_name = _DUNDER[symbol], op.__name__
    method.__name__, reflected.__name__ = f"__{name}__", f"__r{name}__"
    method.__qualname__, reflected.__qualname__ = f"Tensor.__{name}__", f"Tensor.__r{name}__"
    method.__doc__ = f"``self {symbol} other``: ``{op_name}.apply(self, other)``"
    reflected.__doc__ = f"``other {symbol} self``: ``{op_name}.apply(other, self)``"
    return method, reflected


class TensorMath:
    """Operators and math methods of :class:`minigrad.Tensor` (mixed into it, never used alone)."""

    __slots__ = ()

    # ----------------------------------------------------------------- arithmetic
    # x + y is Add.apply(x, y); 2 + x (the number on the left) is Add.apply(2, x), and so on.
    __add__, __radd__ = _binary(Add, "+")
    __sub__, __rsub__ = _binary(Sub, "-")
    __mul__, __rmul__ = _binary(Mul, "*")
    __truediv__, __rtruediv__ = _binary(Div, "/")
    __pow__, __rpow__ = _binary(Pow, "**")
    __matmul__, __rmatmul__ = _binary(MatMul, "@")

    def __neg__(self) -> Tensor:
        return Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return Abs.apply(self)

    add = __add__
    sub = __sub__
    mul = __mul__
    div = __truediv__
    pow = __pow__
    matmul = __matmul__
    neg = __neg__

    # Comparisons give boolean tensors with no gradient (a step function has derivative 0).
    def _compare(self, fn: Any, other: Any) -> Tensor:
        value = other.data if isinstance(other, TensorMath) else other
        return self._wrap(fn(self.data, value))

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(np.equal, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(np.not_equal, other)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(np.less, other)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(np.less_equal, other)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(np.greater, other)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(np.greater_equal, other)

    def __invert__(self) -> Tensor:
        if self.dtype != np.bool_:
            raise TypeError(f"~ is defined for boolean tensors, got dtype {self.dtype}")
        return self._wrap(~self.data)

    def __and__(self, other: Any) -> Tensor:
        return self._compare(np.logical_and, other)

    def __or__(self, other: Any) -> Tensor:
        return self._compare(np.logical_or, other)

    # ----------------------------------------------------------------- elementwise functions
    def exp(self) -> Tensor:
        return Exp.apply(self)

    def log(self) -> Tensor:
        return Log.apply(self)

    def sqrt(self) -> Tensor:
        return Sqrt.apply(self)

    def abs(self) -> Tensor:
        return Abs.apply(self)

    def tanh(self) -> Tensor:
        return Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return Relu.apply(self)

    def gelu(self, approximate: str = "none") -> Tensor:
        """GELU, exact (``approximate="none"``, uses erf) or the tanh approximation."""
        if approximate == "tanh":
            return GeluTanh.apply(self)
        if approximate != "none":
            raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        return GeluErf.apply(self)

    def clamp(self, min: float | None = None, max: float | None = None) -> Tensor:
        if min is None and max is None:
            raise ValueError("clamp needs at least one of min and max")
        return Clamp.apply(self, min=min, max=max)

    clip = clamp

    def maximum(self, other: Any) -> Tensor:
        return Maximum.apply(self, self._operand(other))

    def minimum(self, other: Any) -> Tensor:
        return Minimum.apply(self, self._operand(other))

    def softmax(self, dim: int = -1) -> Tensor:
        return Softmax.apply(self, dim=dim)

    def log_softmax(self, dim: int = -1) -> Tensor:
        return LogSoftmax.apply(self, dim=dim)

    # ----------------------------------------------------------------- reductions
    def sum(self, dim: Dim = None, keepdim: bool = False) -> Tensor:
        return Sum.apply(self, dim=dim, keepdim=keepdim)

    def mean(self, dim: Dim = None, keepdim: bool = False) -> Tensor:
        return Mean.apply(self, dim=dim, keepdim=keepdim)

    def var(
        self,
        dim: Dim = None,
        *,
        correction: int | None = None,
        unbiased: bool | None = None,
        keepdim: bool = False,
    ) -> Tensor:
        """Variance; ``correction=1`` (the default, Bessel's) divides by N - 1."""
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        return Var.apply(self, dim=dim, correction=correction, keepdim=keepdim)

    def std(
        self,
        dim: Dim = None,
        *,
        correction: int | None = None,
        unbiased: bool | None = None,
        keepdim: bool = False,
    ) -> Tensor:
        """Standard deviation, ``sqrt(var)`` with ``var``'s arguments; its gradient is 0 where
        the spread is 0 (a constant row), as in PyTorch."""
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        return Std.apply(self, dim=dim, correction=correction, keepdim=keepdim)

    def amax(self, dim: Dim = None, keepdim: bool = False) -> Tensor:
        """Largest value over ``dim``; ties share the gradient equally."""
        return AMax.apply(self, dim=dim, keepdim=keepdim)

    def amin(self, dim: Dim = None, keepdim: bool = False) -> Tensor:
        """Smallest value over ``dim``; ties share the gradient equally."""
        return AMin.apply(self, dim=dim, keepdim=keepdim)

    def max(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """As in PyTorch: ``max()`` is a 0-d tensor; ``max(dim)`` is ``(values, indices)``."""
        if dim is None:
            return self.amax()
        return _reduce_with_indices(self, dim, keepdim, np.argmax)

    def min(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """As in PyTorch: ``min()`` is a 0-d tensor; ``min(dim)`` is ``(values, indices)``."""
        if dim is None:
            return self.amin()
        return _reduce_with_indices(self, dim, keepdim, np.argmin)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self._wrap(_arg_reduce(self.data, dim, keepdim, np.argmax))

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self._wrap(_arg_reduce(self.data, dim, keepdim, np.argmin))

    # ----------------------------------------------------------------- shape
    def reshape(self, *shape: Any) -> Tensor:
        """The same elements in another shape (``-1``: inferred): a view of this tensor's memory
        when its layout allows, else a copy (``view`` refuses instead)."""
        return Reshape.apply(self, shape=shape_args(shape))

    def view(self, *shape: Any) -> Tensor:
        """The same memory seen with another shape, as ``torch.Tensor.view``: always a view.

        Raises ``RuntimeError`` when the elements are not laid out for it (after a transpose,
        say: ``x.T.view(-1)``); use ``reshape``, or ``contiguous().view(...)``.
        """
        return View.apply(self, shape=shape_args(shape))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        s, e = start_dim % self.ndim, end_dim % self.ndim
        shape = self.shape[:s] + (-1,) + self.shape[e + 1 :]
        return self.reshape(shape)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        for d in (dim0, dim1):
            if not -max(self.ndim, 1) <= d < max(self.ndim, 1):
                raise IndexError(
                    f"transpose: dim {d} is out of range for a tensor with {self.ndim} dimensions"
                )
        axes = list(range(self.ndim))
        if axes:  # a 0-d tensor accepts dims 0 and -1, as in PyTorch, and stays as it is
            axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return Permute.apply(self, dims=tuple(axes))

    def permute(self, *dims: Any) -> Tensor:
        return Permute.apply(self, dims=shape_args(dims))

    def squeeze(self, dim: Dim = None) -> Tensor:
        return Squeeze.apply(self, dim=dim)

    def unsqueeze(self, dim: int) -> Tensor:
        return Unsqueeze.apply(self, dim=dim)

    def expand(self, *shape: Any) -> Tensor:
        """Broadcast to ``shape`` (``-1`` keeps a dimension), as ``torch.Tensor.expand``."""
        shape = shape_args(shape)
        lead = len(shape) - self.ndim
        full = tuple(
            self.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape)
        )
        return BroadcastTo.apply(self, shape=full)

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        return BroadcastTo.apply(self, shape=tuple(shape))

    def expand_as(self, other: Tensor) -> Tensor:
        return BroadcastTo.apply(self, shape=other.shape)

    def is_contiguous(self) -> bool:
        """True when the elements sit in memory in row-major order (what ``view`` needs)."""
        return bool(self.data.flags.c_contiguous)

    def contiguous(self) -> Tensor:
        """This tensor if its memory is in row-major order, else a copy that is (as PyTorch)."""
        if self.data.flags.c_contiguous:
            return self
        return Contiguous.apply(self)


def shape_args(args: tuple[Any, ...]) -> tuple[int, ...]:
    """Accept both ``f(2, 3)`` and ``f((2, 3))``: ``shape_args(((2, 3),)) == (2, 3)``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def _arg_reduce(a: np.ndarray, dim: int | None, keepdim: bool, fn: Any) -> np.ndarray:
    if dim is None:
        idx = np.asarray(fn(a))
        return idx.reshape((1,) * a.ndim) if keepdim else idx
    idx = fn(a, axis=dim)
    return np.expand_dims(idx, dim) if keepdim else idx


class ValuesIndices(NamedTuple):
    """What ``max(dim)`` / ``min(dim)`` return, as in PyTorch."""

    values: Tensor
    indices: Tensor


def _reduce_with_indices(x: Tensor, dim: int, keepdim: bool, fn: Any) -> ValuesIndices:
    idx = np.expand_dims(fn(x.data, axis=dim), dim)
    values = TakeAlongDim.apply(x, indices=idx, dim=dim)
    if not keepdim:
        values = values.squeeze(dim)
        idx = idx.squeeze(dim)
    # a copy: the node keeps `idx` for backward, so an in-place change to the returned indices
    # would otherwise send the gradient to other elements
    return ValuesIndices(values, x._wrap(idx.copy()))
