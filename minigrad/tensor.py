"""``Tensor``: a numpy array that remembers how it was computed.

A tensor holds ``data`` (a numpy array), and, when it ``requires_grad``, a link to the
``Function`` node that produced it (``grad_fn``).  Leaves (tensors you created, such as weights)
have no ``grad_fn``; after ``loss.backward()`` their ``.grad`` holds d loss / d leaf.

This file is what a tensor *is*: data, gradient, graph link, dtype conversion and indexing. What
you can compute with it (operators, ``exp``, ``sum``, ``reshape``, ...) comes from the
``TensorMath`` mixin in ``tensor_math.py``, how it changes in place (``add_``, ``+=``,
``x[k] = v``, and when that is recorded) from ``TensorInplace`` in ``tensor_inplace.py``.
Every math method is one call ``SomeOp.apply(...)`` into ``minigrad/ops/``, where each
operation's forward and backward sit side by side.

Import order, bottom to top: ``autograd`` (``Function`` and the backward pass) knows no Tensor
class; the ops are ``Function`` subclasses; ``tensor_math`` calls the ops; this module defines
``Tensor`` on top of them all and registers it with the engine, the one class ``Function.apply``
wraps its results in.

Dtypes follow PyTorch: Python floats become float32, Python ints int64; numpy arrays keep their
dtype.  A non-tensor operand (a Python number or an ndarray) mixed into an op with a floating
point tensor takes that tensor's dtype, so ``x * 0.5`` stays float32.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from minigrad.autograd import Function, register_tensor_class, run_backward
from minigrad.ops.elementwise import Cast, Where
from minigrad.ops.shape import GetItem
from minigrad.tensor_inplace import TensorInplace
from minigrad.tensor_math import TensorMath

ArrayLike = Any  # anything np.asarray accepts


def as_dtype(dtype: Any) -> np.dtype | None:
    """``np.dtype(dtype)``, None for None, ``TypeError`` naming the value for anything else.

    >>> as_dtype("float64")
    dtype('float64')
    """
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
    if copy:  # a copy in row-major order, as torch.tensor makes (so that view() works on it)
        return np.array(data, dtype=dtype, copy=True, order="C")
    return np.asarray(data, dtype=dtype)


class Tensor(TensorMath, TensorInplace):
    """An n-dimensional array with reverse-mode automatic differentiation.

    >>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad          # d(sum x^2)/dx = 2x
    array([2., 4., 6.], dtype=float32)
    """

    __slots__ = (
        "__weakref__",
        "_grad_fn",
        "_name",
        "_requires_grad",
        "_version",
        "_view",
        "data",
        "grad",
    )

    # Make numpy hand ``ndarray + tensor`` to Tensor.__radd__ instead of broadcasting over it.
    __array_ufunc__ = None

    def __init__(self, data: ArrayLike, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data = _as_array(data, as_dtype(dtype), copy=True)
        self.grad: Any = None
        self._grad_fn: Function | None = None
        self._version = [0]  # bumped by every in-place change; shared with views
        self._view = None  # for a view: its base and how it was taken (autograd.ViewInfo)
        self._requires_grad = False
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
        if self._view is not None:
            self._sync_view()
        return self._grad_fn is None

    @property
    def grad_fn(self) -> Function | None:
        """The node that produced this tensor, or None for a leaf."""
        if self._view is not None:
            self._sync_view()
        return self._grad_fn

    @property
    def requires_grad(self) -> bool:
        """Whether backward computes a gradient for this tensor (and records ops that use it).

        A view made with grad mode on also requires grad once its base does, as in PyTorch
        (the base may start to through an in-place op with a tensor that requires grad).
        Setting it is ``requires_grad_(value)``.
        """
        if self._requires_grad:
            return True
        view = self._view
        return view is not None and view.grad_mode and view.base._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    @property
    def _base(self) -> Tensor | None:
        """For a view, the tensor that owns its memory (as in PyTorch); else None."""
        return None if self._view is None else self._view.base

    @property
    def name(self) -> str | None:
        """Your label for this tensor (``t.name = "a"``), shown by ``minigrad.viz`` pictures.

        It survives ``backward()``: the array-free stand-in that replaces a released
        intermediate keeps it.
        """
        return getattr(self, "_name", None)  # unset until named: ops never pay for the slot

    @name.setter
    def name(self, value: str | None) -> None:
        if value is not None and not isinstance(value, str):
            raise TypeError(f"a tensor's name must be a str or None, got {type(value).__name__}")
        self._name = value

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
        self._requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        if self._view is not None:
            self._sync_view()
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        if self._grad_fn is not None:
            self._grad_fn.retained = self

    def detach(self) -> Tensor:
        """The same data (shared memory), cut off from the graph."""
        out = Tensor.__new__(Tensor)
        out.data, out.grad, out._grad_fn, out._requires_grad = self.data, None, None, False
        out._version, out._view = self._version, None
        return out

    def backward(
        self,
        gradient: ArrayLike | None = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
    ) -> None:
        """Compute d self / d leaf for every leaf that requires grad; add it into ``leaf.grad``.

        ``gradient`` is d loss / d self.  It may be omitted only for a one-element tensor (a
        scalar loss), where it is 1.  Without ``retain_graph=True`` the graph's saved arrays are
        freed, so a second backward through the same graph raises.

        ``create_graph=True`` records the backward pass itself: every ``.grad`` it writes is
        then a Tensor with a graph of its own, which can be differentiated again (second
        derivatives; see also :func:`minigrad.grad`).  ``retain_graph`` defaults to
        ``create_graph``, as in PyTorch.  As there, a leaf then holds a gradient whose graph
        holds the leaf: a reference cycle, freed by Python's garbage collector.
        :func:`minigrad.grad`, which returns gradients instead of storing them, makes none.
        """
        if self._view is not None:
            self._sync_view()
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad (no input had "
                "requires_grad=True, or it was computed under no_grad())"
            )
        if retain_graph is None:
            retain_graph = create_graph
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient is only defined for a scalar output, but "
                    f"this tensor has shape {self.shape}; pass gradient= of that shape "
                    "(or reduce it first, e.g. loss.sum())"
                )
            grad = np.ones_like(self.data)
        elif create_graph and isinstance(gradient, Tensor):  # kept: it may require grad itself
            grad = gradient
        else:
            grad = _as_array(gradient, self.dtype, copy=False)
        if grad.shape != self.shape:
            raise ValueError(
                f"gradient has shape {grad.shape} but the tensor has shape {self.shape}"
            )
        if create_graph and not isinstance(grad, Tensor):
            grad = Tensor._wrap(grad)
        elif create_graph and grad.dtype != self.dtype:
            grad = grad.to(self.dtype)
        run_backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    # ----------------------------------------------------------------- in-place changes
    # add_, mul_, ..., fill_, copy_ and the rules for recording them: tensor_inplace.py
    def __setitem__(self, key: Any, value: ArrayLike) -> None:
        self._assign(_index_key(key), value)

    # ----------------------------------------------------------------- operands and indexing
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

    def __getitem__(self, key: Any) -> Tensor:
        return GetItem.apply(self, key=_index_key(key))

    def masked_fill(self, mask: Any, value: float) -> Tensor:
        """Put ``value`` where ``mask`` is True (no gradient flows to those places)."""
        return where(mask, value, self)

    # ----------------------------------------------------------------- dtype
    def to(self, dtype: Any) -> Tensor:
        dtype = as_dtype(dtype)
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
        out.grad, out._grad_fn, out._requires_grad = None, None, False
        out._version, out._view = [0], None
        return out


_PYTHON_NUMBERS = (int, float, bool)


def _index_key(key: Any) -> Any:
    """Replace tensors inside an indexing key by their arrays."""
    if isinstance(key, Tensor):
        return key.data
    if isinstance(key, tuple):
        return tuple(k.data if isinstance(k, Tensor) else k for k in key)
    if isinstance(key, list):
        return np.asarray(key)
    return key


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


register_tensor_class(Tensor)
