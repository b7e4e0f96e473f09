"""In-place changes of a tensor: ``add_``, ``sub_``, ``mul_``, ``div_`` (and ``+=`` ...),
``clamp_``, ``zero_``, ``fill_``, ``copy_`` and ``x[key] = value``, with PyTorch's rules.

Three cases, as in PyTorch:

* Nothing to record (grad mode off, as in an optimizer step, or no tensor involved requires
  grad): numpy changes the memory in place, and the tensor's version goes up by one.  Every
  node that kept that memory for its backward (see ``autograd._saved_versions``) will refuse
  to run: ``y = x.exp(); y += 1; y.sum().backward()`` raises, because ``exp`` kept its output.
* A tensor that requires grad and is not a leaf (``c = a + b; c += 1``): the op is recorded.
  It runs out of place on the old values (``Add`` on old ``c`` and 1), the result is written
  into ``c``'s memory, and the op's node becomes ``c.grad_fn``.  Uses of ``c`` recorded before
  keep the old node as their input's history (``Function.apply`` fixes the edges when it
  records), so ``z = c * 3; c.mul_(2)`` leaves ``z``'s gradient as it was.
* A leaf that requires grad (a parameter), or a view of one: ``RuntimeError`` with grad mode on
  (its ``.grad`` would no longer describe the tensor it belongs to).

A view (``v = b[0]``, ``b.T``, ``b.reshape(...)``) shares memory with its base: an in-place op
on ``v`` changes ``b`` too, so ``b``'s history becomes ``CopySlices`` (its old values, with
``v``'s elements replaced by the op's result) and ``v``'s becomes that region of the new ``b``
(``ViewOfBase``); every other view of ``b`` takes its history from the new ``b`` the next time it
is used (``_sync_view``).  The ops are in ``minigrad/ops/inplace.py``.

Deliberately left out: in-place versions of the other math methods (``exp_``, ``relu_``...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad import grad_mode
from minigrad.ops.elementwise import Add, Clamp, Div, Mul, Sub
from minigrad.ops.inplace import CopyFrom, CopySlices, Fill, SetItem, ViewOfBase

if TYPE_CHECKING:
    from minigrad.tensor import Tensor


class TensorInplace:
    """The in-place methods of :class:`minigrad.Tensor` (mixed into it, never used alone)."""

    __slots__ = ()

    # ----------------------------------------------------------------- arithmetic
    def add_(self: Any, other: Any, alpha: float = 1.0) -> Tensor:
        """``self += alpha * other``, in place."""
        if alpha != 1.0:
            other = _scaled(other, alpha)
        return self._update("add_", Add, np.add, other)

    def sub_(self: Any, other: Any, alpha: float = 1.0) -> Tensor:
        """``self -= alpha * other``, in place."""
        if alpha != 1.0:
            other = _scaled(other, alpha)
        return self._update("sub_", Sub, np.subtract, other)

    def mul_(self: Any, other: Any) -> Tensor:
        # d(a*b)/db = a: the old values are needed when other requires grad
        return self._update("mul_", Mul, np.multiply, other, keep_old=_requires_grad(other))

    def div_(self: Any, other: Any) -> Tensor:
        # d(a/b)/db = -a/b^2: the old values are needed when other requires grad
        return self._update("div_", Div, np.true_divide, other, keep_old=_requires_grad(other))

    def __iadd__(self: Any, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self: Any, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self: Any, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self: Any, other: Any) -> Tensor:
        return self.div_(other)

    def clamp_(self: Any, min: float | None = None, max: float | None = None) -> Tensor:
        """``clamp`` in place; the gradient is 1 where the value was inside [min, max]."""
        if min is None and max is None:
            raise ValueError("clamp_ needs at least one of min and max")

        def fast() -> None:
            np.clip(self.data, min, max, out=self.data)

        # Clamp's backward reads the old values (where they were inside the bounds)
        return self._record_or_run("clamp_", fast, Clamp, (), {"min": min, "max": max}, True)

    clip_ = clamp_

    # ----------------------------------------------------------------- overwriting
    def zero_(self: Any) -> Tensor:
        return self.fill_(0)

    def fill_(self: Any, value: float) -> Tensor:
        def fast() -> None:
            self.data.fill(value)

        return self._record_or_run("fill_", fast, Fill, (), {"value": value})

    def copy_(self: Any, src: Any) -> Tensor:
        """Copy ``src``'s values (broadcast to this shape) into this tensor."""

        def fast() -> None:
            value = src.data if _is_tensor(src) else np.asarray(src)
            np.copyto(self.data, value, casting="same_kind")

        operand = src if _is_tensor(src) else np.asarray(src)
        return self._record_or_run("copy_", fast, CopyFrom, (operand,), {})

    def _assign(self: Any, key: Any, value: Any) -> None:
        """``self[key] = value`` (``key`` already holds arrays, not tensors)."""

        def fast() -> None:
            self.data[key] = value.data if _is_tensor(value) else value

        operand = value if _is_tensor(value) else self._operand(value)
        self._record_or_run("__setitem__", fast, SetItem, (operand,), {"key": key})

    # ----------------------------------------------------------------- the machinery
    def _update(
        self: Any, what: str, op: type, ufunc: Callable[..., Any], other: Any, keep_old=False
    ) -> Tensor:
        """``self = op(self, other)`` in place: a numpy ufunc, or the recorded ``op``."""

        def fast() -> None:
            value = other.data if _is_tensor(other) else other
            ufunc(self.data, value, out=self.data, casting="same_kind")

        return self._record_or_run(what, fast, op, (self._operand(other),), {}, keep_old)

    def _record_or_run(
        self: Any,
        what: str,
        fast: Callable[[], None],
        op: type,
        operands: tuple[Any, ...],
        params: dict[str, Any],
        keep_old: bool = False,
    ) -> Tensor:
        """Change ``self`` in place: ``fast()`` when nothing is recorded, else ``op`` recorded.

        ``keep_old``: the op's backward reads ``self``'s old values, so it gets a copy of them
        (the memory itself is about to be overwritten).
        """
        if self._view is not None:
            self._sync_view()
        record = grad_mode._state.enabled and (
            self.requires_grad or any(_requires_grad(x) for x in operands)
        )
        if not record:
            try:
                fast()
            except (ValueError, TypeError) as exc:
                raise ValueError(_cannot(what, self, operands, exc)) from None
            self._version[0] += 1
            return self
        self._check_recordable(what)
        old = self._alias(copy=keep_old)
        result = op.apply(old, *operands, **params)
        try:
            np.copyto(self.data, result.data, casting="same_kind")
        except (ValueError, TypeError) as exc:
            raise ValueError(_cannot(what, self, operands, exc)) from None
        self._version[0] += 1
        if self._view is None:
            self._take_history(result._grad_fn)
        else:
            self._rebase(result)
        return self

    def _check_recordable(self: Any, what: str) -> None:
        """The cases where PyTorch refuses to record an in-place op, with its reasons."""
        view = self._view
        if view is not None and not view.grad_mode:
            raise RuntimeError(
                f"{what}: this tensor is a view made under no_grad() and is being changed in "
                "place with grad mode on, with a tensor that requires grad: whether the change "
                "should reach its base's gradient is ambiguous, so (as in PyTorch) it is not "
                "allowed. Take the view with grad mode on, or make the change under no_grad()."
            )
        leaf = self if view is None else view.base
        if leaf._grad_fn is None and leaf.requires_grad:
            whose = "a leaf tensor" if view is None else "a view of a leaf tensor"
            raise RuntimeError(
                f"{what}: {whose} that requires grad is being changed in place; its .grad "
                "would no longer describe its values. Change parameters under "
                "`with minigrad.no_grad():` (as optimizers do), or use an out-of-place "
                "operation such as x = x + y."
            )

    def _alias(self: Any, copy: bool) -> Tensor:
        """``self`` before the change, for the recorded op's input: the same history, and its
        own version counter (the op may keep it; the write that follows must not count as a
        change of what it kept).  ``copy``: with a copy of the values, for ops that need them.
        """
        out = self._wrap(self.data.copy() if copy else self.data)
        out._grad_fn, out._requires_grad = self._grad_fn, self._requires_grad
        return out

    def _take_history(self: Any, node: Any) -> None:
        """Make ``node`` this tensor's ``grad_fn`` (a ``retain_grad()`` moves along with it)."""
        old = self._grad_fn
        self._grad_fn, self._requires_grad = node, True
        if old is not None and old.retained is self:
            old.retained, node.retained = None, self

    def _rebase(self: Any, result: Any) -> None:
        """After an in-place op on this view: new histories for its base and for the view."""
        info = self._view
        base = info.base
        new_base = CopySlices.apply(base, result, chain=info.chain, out=base.data)
        base._take_history(new_base._grad_fn)
        # (apply may already have taken this view again: it only needs the node)
        self._take_history(ViewOfBase.apply(base, chain=info.chain)._grad_fn)
        info.base_fn = base._grad_fn

    def _sync_view(self: Any) -> None:
        """Take this view's history again from its base if an in-place op changed the base's.

        (PyTorch does the same when a view's ``grad_fn`` is read.)  Views made under no_grad
        keep none, as in PyTorch.
        """
        info = self._view
        base = info.base
        if base._grad_fn is info.base_fn or not info.grad_mode or not grad_mode._state.enabled:
            return
        info.base_fn = base._grad_fn
        if base._requires_grad:
            self._grad_fn = ViewOfBase.apply(base, chain=info.chain)._grad_fn
            self._requires_grad = True


def _is_tensor(x: Any) -> bool:
    return isinstance(x, TensorInplace)


def _requires_grad(x: Any) -> bool:
    return _is_tensor(x) and x.requires_grad


def _scaled(other: Any, alpha: float) -> Any:
    """``alpha * other`` (recorded when other is a tensor that requires grad)."""
    if _is_tensor(other):
        return other * alpha
    return np.asarray(other) * alpha


def _describe(x: Any) -> str:
    if _is_tensor(x) or isinstance(x, np.ndarray):
        return f"shape {x.shape} and dtype {x.dtype}"
    return repr(x)


def _cannot(what: str, t: Any, operands: tuple[Any, ...], exc: Exception) -> str:
    with_ = _describe(operands[0]) if operands else "that value"
    return (
        f"{what}: cannot update a tensor of shape {t.shape} and dtype {t.dtype} in place with "
        f"{with_}: {exc}"
    )
