"""``Tensor``: a numpy array that remembers how it was computed.

A tensor holds ``data`` (a numpy array), and, when it ``requires_grad``, a link to the
``Function`` node that produced it (``grad_fn``).  Leaves (tensors you created, such as weights)
have no ``grad_fn``; after ``loss.backward()`` their ``.grad`` holds d loss / d leaf.

The methods here are thin: each one calls ``SomeOp.apply(...)`` from ``minigrad/ops/``, where the
forward and backward of every operation sit side by side.

Dtypes follow PyTorch: Python floats become float32, Python ints int64; numpy arrays keep their
dtype.  A non-tensor operand (a Python number or an ndarray) mixed into an op with a floating
point tensor takes that tensor's dtype, so ``x * 0.5`` stays float32.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from minigrad import grad_mode
from minigrad.autograd import Function, run_backward

ArrayLike = Any  # anything np.asarray accepts
Dim = int | tuple[int, ...] | None


def _to_dtype(dtype: Any) -> np.dtype | None:
    if dtype is None:
        return None
    try:
        return np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"not a dtype: {dtype!r}") from exc


def _as_array(data: ArrayLike, dtype: np.dtype | None, copy: bool) -> np.ndarray:
    """Convert user data to an ndarray with minigrad's default dtypes."""
    if isinstance(data, Tensor):
        data = data.data
    if not isinstance(data, np.ndarray):
        # Convert without a target dtype first: np.array("1.5", dtype=float) would parse the
        # string and np.array(None, dtype=float) would give NaN, where both must be rejected.
        data = np.array(data)
        if dtype is None and data.dtype == np.float64:
            dtype = np.dtype(np.float32)  # Python floats default to float32, as in PyTorch
        copy = False  # already a fresh array
    if data.dtype.kind not in "biuf" or (dtype is not None and dtype.kind not in "biuf"):
        raise TypeError(
            f"minigrad tensors hold numbers or booleans; got an array of dtype "
            f"{data.dtype if data.dtype.kind not in 'biuf' else dtype}"
        )
    return np.array(data, dtype=dtype, copy=True) if copy else np.asarray(data, dtype=dtype)


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    >>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad          # d(sum x^2)/dx = 2x
    array([2., 4., 6.], dtype=float32)
    """

    __slots__ = ("__weakref__", "_grad_fn", "_version", "data", "grad", "requires_grad")

    # Make numpy hand ``ndarray + tensor`` to Tensor.__radd__ instead of broadcasting over it.
    __array_ufunc__ = None

    def __init__(self, data: ArrayLike, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data = _as_array(data, _to_dtype(dtype), copy=True)
        self.grad: Any = None
        self._grad_fn: Function | None = None
        self._version = [0]  # bumped by every in-place change; shared with views
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ----------------------------------------------------------------- basic properties
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def T(self) -> Tensor:
        """All dimensions reversed (the transpose, for a matrix)."""
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:
        """The last two dimensions swapped (a batch of transposed matrices)."""
        return self.transpose(-2, -1)

    @property
    def is_leaf(self) -> bool:
        """True for tensors created by the user (not by an op that recorded a graph)."""
        return self._grad_fn is None

    @property
    def grad_fn(self) -> Function | None:
        """The node that produced this tensor, or None for a leaf."""
        return self._grad_fn

    def size(self, dim: int | None = None) -> Any:
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self) -> int:
        return int(self.data.size)

    def dim(self) -> int:
        return self.data.ndim

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def tolist(self) -> Any:
        return self.data.tolist()

    def item(self) -> float | int | bool:
        if self.data.size != 1:
            raise ValueError(
                f"item() needs a tensor with exactly one element, got shape {self.shape}"
            )
        return self.data.item()

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor with {self.data.size} elements is ambiguous"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of one element can be used as an index")
        return int(self.data)

    __hash__ = object.__hash__  # tensors are hashed by identity (== is elementwise)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ""
        if self.dtype not in (np.float32, np.int64, np.bool_):
            extra += f", dtype={self.dtype}"
        if self._grad_fn is not None:
            extra += f", grad_fn={self._grad_fn!r}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # ----------------------------------------------------------------- autograd interface
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Mark a leaf as a parameter to differentiate (in place); returns self."""
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"only floating point tensors can require gradients, got dtype {self.dtype}"
            )
        if not self.is_leaf and not requires_grad:
            raise RuntimeError(
                "requires_grad cannot be switched off on a non-leaf tensor; use detach()"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        if self._grad_fn is not None:
            self._grad_fn.retained = self

    def detach(self) -> Tensor:
        """The same data (shared memory), cut off from the graph."""
        out = Tensor.__new__(Tensor)
        out.data, out.grad, out._grad_fn, out.requires_grad = self.data, None, None, False
        out._version = self._version
        return out

    def backward(self, gradient: ArrayLike | None = None, retain_graph: bool = False) -> None:
        """Compute d self / d leaf for every leaf that requires grad; add it into ``leaf.grad``.

        ``gradient`` is d loss / d self.  It may be omitted only for a one-element tensor (a
        scalar loss), where it is 1.  Without ``retain_graph=True`` the graph's saved arrays are
        freed, so a second backward through the same graph raises.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad (no input had "
                "requires_grad=True, or it was computed under no_grad())"
            )
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient is only defined for a scalar output, but "
                    f"this tensor has shape {self.shape}; pass gradient= of that shape "
                    "(or reduce it first, e.g. loss.sum())"
                )
            grad = np.ones_like(self.data)
        else:
            grad = _as_array(gradient, self.dtype, copy=False)
            if grad.shape != self.shape:
                raise ValueError(
                    f"gradient has shape {grad.shape} but the tensor has shape {self.shape}"
                )
        run_backward(self, grad, retain_graph=retain_graph)

    # ----------------------------------------------------------------- in-place changes
    def _check_inplace(self, what: str) -> None:
        if self.requires_grad and grad_mode._enabled:
            raise RuntimeError(
                f"{what}: in-place operation on a tensor that requires grad; minigrad only "
                "allows that under `with minigrad.no_grad():` (as optimizers do). Use an "
                "out-of-place operation such as x = x + y instead."
            )

    def _bump(self) -> None:
        self._version[0] += 1

    def _inplace(self, what: str, fn: Any, other: Any) -> Tensor:
        self._check_inplace(what)
        value = other.data if isinstance(other, Tensor) else other
        try:
            fn(self.data, value, out=self.data, casting="same_kind")
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"{what}: cannot update a tensor of shape {self.shape} and dtype {self.dtype} "
                f"in place with {_describe(other)}: {exc}"
            ) from None
        self._bump()
        return self

    def add_(self, other: ArrayLike, alpha: float = 1.0) -> Tensor:
        if alpha != 1.0:
            other = (other.data if isinstance(other, Tensor) else np.asarray(other)) * alpha
        return self._inplace("add_", np.add, other)

    def sub_(self, other: ArrayLike, alpha: float = 1.0) -> Tensor:
        if alpha != 1.0:
            other = (other.data if isinstance(other, Tensor) else np.asarray(other)) * alpha
        return self._inplace("sub_", np.subtract, other)

    def mul_(self, other: ArrayLike) -> Tensor:
        return self._inplace("mul_", np.multiply, other)

    def div_(self, other: ArrayLike) -> Tensor:
        return self._inplace("div_", np.true_divide, other)

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: float) -> Tensor:
        self._check_inplace("fill_")
        self.data.fill(value)
        self._bump()
        return self

    def copy_(self, src: ArrayLike) -> Tensor:
        self._check_inplace("copy_")
        value = src.data if isinstance(src, Tensor) else np.asarray(src)
        try:
            np.copyto(self.data, value, casting="same_kind")
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"copy_: cannot copy {_describe(src)} into shape {self.shape}: {exc}"
            ) from None
        self._bump()
        return self

    def __setitem__(self, key: Any, value: ArrayLike) -> None:
        self._check_inplace("__setitem__")
        self.data[_index_key(key)] = value.data if isinstance(value, Tensor) else value
        self._bump()

    # ----------------------------------------------------------------- arithmetic
    def _operand(self, other: Any) -> Any:
        """Tensors pass through; numbers stay Python numbers; arrays take our float dtype."""
        # `type(...) in`, not isinstance: np.float64 subclasses float but, unlike a Python
        # float, would promote a float32 array to float64 under numpy's casting rules.
        if isinstance(other, Tensor) or type(other) in _PYTHON_NUMBERS:
            return other
        # Arrays are copied, as torch copies them into a tensor: the op may keep the array for
        # backward, and the caller changing it afterwards must not change the gradient.
        if self.data.dtype.kind == "f":
            return _as_array(other, self.data.dtype, copy=True)
        return _as_array(other, None, copy=True)

    def __add__(self, other: Any) -> Tensor:
        return Add.apply(self, self._operand(other))

    def __radd__(self, other: Any) -> Tensor:
        return Add.apply(self._operand(other), self)

    def __sub__(self, other: Any) -> Tensor:
        return Sub.apply(self, self._operand(other))

    def __rsub__(self, other: Any) -> Tensor:
        return Sub.apply(self._operand(other), self)

    def __mul__(self, other: Any) -> Tensor:
        return Mul.apply(self, self._operand(other))

    def __rmul__(self, other: Any) -> Tensor:
        return Mul.apply(self._operand(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        return Div.apply(self, self._operand(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        return Div.apply(self._operand(other), self)

    def __pow__(self, exponent: Any) -> Tensor:
        return Pow.apply(self, self._operand(exponent))

    def __rpow__(self, base: Any) -> Tensor:
        return Pow.apply(self._operand(base), self)

    def __matmul__(self, other: Any) -> Tensor:
        return MatMul.apply(self, self._operand(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return MatMul.apply(self._operand(other), self)

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
        value = other.data if isinstance(other, Tensor) else other
        return Tensor._wrap(fn(self.data, value))

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
        return Tensor._wrap(~self.data)

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

    def masked_fill(self, mask: Any, value: float) -> Tensor:
        """Put ``value`` where ``mask`` is True (no gradient flows to those places)."""
        return where(mask, value, self)

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
        self, dim: Dim = None, *, correction: int | None = None, keepdim: bool = False
    ) -> Tensor:
        return self.var(dim, correction=correction, keepdim=keepdim).sqrt()

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
        return Tensor._wrap(_arg_reduce(self.data, dim, keepdim, np.argmax))

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return Tensor._wrap(_arg_reduce(self.data, dim, keepdim, np.argmin))

    # ----------------------------------------------------------------- shape
    def reshape(self, *shape: Any) -> Tensor:
        return Reshape.apply(self, shape=_shape_args(shape))

    view = reshape

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
        return Permute.apply(self, dims=_shape_args(dims))

    def squeeze(self, dim: Dim = None) -> Tensor:
        return Squeeze.apply(self, dim=dim)

    def unsqueeze(self, dim: int) -> Tensor:
        return Unsqueeze.apply(self, dim=dim)

    def expand(self, *shape: Any) -> Tensor:
        """Broadcast to ``shape`` (``-1`` keeps a dimension), as ``torch.Tensor.expand``."""
        shape = _shape_args(shape)
        lead = len(shape) - self.ndim
        full = tuple(
            self.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape)
        )
        return BroadcastTo.apply(self, shape=full)

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        return BroadcastTo.apply(self, shape=tuple(shape))

    def expand_as(self, other: Tensor) -> Tensor:
        return BroadcastTo.apply(self, shape=other.shape)

    def contiguous(self) -> Tensor:
        return self

    def __getitem__(self, key: Any) -> Tensor:
        return GetItem.apply(self, key=_index_key(key))

    # ----------------------------------------------------------------- dtype
    def to(self, dtype: Any) -> Tensor:
        dtype = _to_dtype(dtype)
        if dtype == self.dtype:
            return self
        return Cast.apply(self, dtype=dtype)

    astype = to

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return self.to(np.int64)

    # ----------------------------------------------------------------- internal
    @staticmethod
    def _wrap(data: np.ndarray) -> Tensor:
        """A new leaf around ``data`` (no copy, no checks): for internal use."""
        out = Tensor.__new__(Tensor)
        out.data = data if type(data) is np.ndarray else np.asarray(data)
        out.grad, out._grad_fn, out.requires_grad = None, None, False
        out._version = [0]
        return out


_PYTHON_NUMBERS = (int, float, bool)


def _describe(x: Any) -> str:
    if isinstance(x, (Tensor, np.ndarray)):
        return f"shape {x.shape} and dtype {x.dtype}"
    return repr(x)


def _shape_args(args: tuple[Any, ...]) -> tuple[int, ...]:
    """Accept both ``f(2, 3)`` and ``f((2, 3))``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def _index_key(key: Any) -> Any:
    """Replace tensors inside an indexing key by their arrays."""
    if isinstance(key, Tensor):
        return key.data
    if isinstance(key, tuple):
        return tuple(k.data if isinstance(k, Tensor) else k for k in key)
    if isinstance(key, list):
        return np.asarray(key)
    return key


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
    return ValuesIndices(values, Tensor._wrap(idx.copy()))


def where(condition: Any, x: Any, y: Any) -> Tensor:
    """``x`` where ``condition`` is True, else ``y``; gradient flows to the chosen side only."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where() needs a boolean condition, got dtype {cond.dtype}")
    ref = x if isinstance(x, Tensor) else y if isinstance(y, Tensor) else None
    if ref is None:
        return Tensor._wrap(np.where(cond, x, y))
    # a Tensor condition goes in as a Tensor, so that its version is recorded: backward uses
    # the saved mask and must refuse to run if the mask was changed in place since
    cond_in = condition if isinstance(condition, Tensor) else cond
    return Where.apply(cond_in, ref._operand(x), ref._operand(y))


# The ops are imported last because they import Function from autograd, which imports Tensor.
from minigrad.ops.elementwise import (  # noqa: E402
    Abs,
    Add,
    Cast,
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
    Where,
)
from minigrad.ops.matmul import MatMul  # noqa: E402
from minigrad.ops.reduce import AMax, AMin, Mean, Sum, Var  # noqa: E402
from minigrad.ops.shape import (  # noqa: E402
    BroadcastTo,
    GetItem,
    Permute,
    Reshape,
    Squeeze,
    TakeAlongDim,
    Unsqueeze,
)
from minigrad.ops.softmax import LogSoftmax, Softmax  # noqa: E402
