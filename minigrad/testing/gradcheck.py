"""Finite-difference gradient checking: does backward agree with the definition of a derivative?

For an op ``y = f(x)`` the Jacobian ``J[k, j] = d y_k / d x_j`` has one column per input element,
and the central difference

    J[:, j] ~ (f(x + eps e_j) - f(x - eps e_j)) / (2 eps)          (error O(eps^2))

gives the whole column from two forward passes.  Backward, on the other hand, computes a
vector-Jacobian product ``v @ J`` for one upstream gradient ``v`` per pass.  Two ways to compare:

* fast mode (the default): one backward pass with a fixed random ``w`` gives ``w @ J``, which
  is compared with ``w @ J_numeric``, element by element.  A random ``w`` mixes every output, so
  a wrong entry anywhere in J shows up (``y.sum()``, i.e. ``w = 1``, would miss a backward that
  forgets to reverse ``x[::-1]``).
* full (``fast_mode=False``): one backward pass per output element builds every row of the
  analytic Jacobian, and every entry is compared.  Slower; it is also what a failure in fast mode
  computes to tell you which entries are wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.grad_mode import no_grad
from minigrad.tensor import Tensor
from minigrad.testing.mismatch import Mismatch, find_mismatch

#: the largest Jacobian (output size x input size) kept in memory: 4M entries, 32 MB
MAX_JACOBIAN_ENTRIES = 2**22


class GradcheckError(AssertionError):
    """Analytic and numeric gradients disagree (the message names the input and element)."""


def _as_output(y: Any) -> Tensor:
    if not isinstance(y, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(y).__name__}")
    return y


def _checked_inputs(inputs: tuple[Any, ...]) -> list[tuple[int, Tensor]]:
    """The inputs to check (tensors that require grad), validated."""
    __tracebackhide__ = True
    checked = [(i, t) for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input is a Tensor with requires_grad=True")
    for i, t in checked:
        if t.dtype != np.float64:
            raise TypeError(
                f"gradcheck: input {i} has dtype {t.dtype}; use float64 (finite differences "
                "in float32 are too coarse to check anything)"
            )
        if not t.is_leaf:
            raise ValueError(f"gradcheck: input {i} must be a leaf tensor")
    return checked


def _dense_grad(t: Tensor) -> np.ndarray:
    g = t.grad
    if g is None:
        return np.zeros(t.shape)
    if hasattr(g, "to_dense"):  # a row-sparse gradient (nn.Embedding(sparse=True))
        g = g.to_dense()
    return np.asarray(g, dtype=np.float64)


def _output_copy(fn: Callable[..., Tensor], inputs: tuple[Any, ...]) -> np.ndarray:
    """``fn(*inputs)`` as a new flat float64 array (a copy: the output may be a view of an
    input, whose data the finite differences are about to change)."""
    with no_grad():
        out = _as_output(fn(*inputs))
    return np.array(out.data, dtype=np.float64, copy=True).reshape(-1)


def _numeric_columns(
    fn: Callable[..., Tensor], inputs: tuple[Any, ...], t: Tensor, eps: float
) -> np.ndarray:
    """``J_numeric`` for input ``t``: column j is d output / d t.flat[j], by central differences.

    Shape (output size, t.size).  ``t.data`` is changed one element at a time and restored.
    """
    columns = []
    for idx in np.ndindex(t.shape):
        old = t.data[idx]
        try:
            t.data[idx] = old + eps
            plus = _output_copy(fn, inputs)
            t.data[idx] = old - eps
            minus = _output_copy(fn, inputs)
        finally:
            t.data[idx] = old
        columns.append((plus - minus) / (2 * eps))
    if not columns:  # an empty input has an empty Jacobian
        return np.zeros((_output_copy(fn, inputs).size, 0))
    return np.stack(columns, axis=1)


def _numeric_projected(
    fn: Callable[..., Tensor], inputs: tuple[Any, ...], t: Tensor, eps: float, w: np.ndarray
) -> np.ndarray:
    """``w @ J_numeric`` for input ``t`` without keeping J (for outputs too large to keep it)."""
    out = np.empty(t.shape)
    for idx in np.ndindex(t.shape):
        old = t.data[idx]
        try:
            t.data[idx] = old + eps
            with no_grad():
                plus = float(np.sum(np.asarray(fn(*inputs).data, dtype=np.float64) * w))
            t.data[idx] = old - eps
            with no_grad():
                minus = float(np.sum(np.asarray(fn(*inputs).data, dtype=np.float64) * w))
        finally:
            t.data[idx] = old
        out[idx] = (plus - minus) / (2 * eps)
    return out.reshape(-1)


def _analytic_jacobians(
    fn: Callable[..., Tensor], inputs: tuple[Any, ...], checked: list[tuple[int, Tensor]]
) -> list[np.ndarray]:
    """Every row of the analytic Jacobian: one forward and one backward per output element.

    Row k is the gradient of ``output.flat[k]``: backward with the upstream gradient ``e_k``.
    """
    out_shape = _as_output(fn(*inputs)).shape
    out_size = int(np.prod(out_shape))
    jacobians = [np.zeros((out_size, t.data.size)) for _, t in checked]
    for k in range(out_size):
        y = _as_output(fn(*inputs))
        for _, t in checked:
            t.grad = None
        e_k = np.zeros(out_size, dtype=y.dtype)
        e_k[k] = 1
        y.backward(e_k.reshape(out_shape))
        for jac, (_, t) in zip(jacobians, checked):
            jac[k] = _dense_grad(t).reshape(-1)
    return jacobians


def _unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


class _Names:
    """How a failure message names inputs and output elements (gradgradcheck renames them)."""

    def input(self, i: int) -> str:
        return f"input {i}"

    def output_element(self, k: int, out_shape: tuple[int, ...]) -> str:
        return f"element {_unravel(k, out_shape)} of the output"


_DEFAULT_NAMES = _Names()


def _jacobian_line(
    i: int, t: Tensor, out_shape: tuple[int, ...], m: Mismatch, names: _Names = _DEFAULT_NAMES
) -> str:
    k, j = m.index
    where = f"element {_unravel(j, t.shape)} of {names.input(i)}"
    if out_shape:  # name the output element too, unless the output is a scalar
        where += f" and {names.output_element(k, out_shape)}"
    return (
        f"{names.input(i)} (shape {t.shape}): {m.count} of {m.total} Jacobian entries differ; "
        f"worst at {where}: {m.describe('analytic', 'numeric')}"
    )


def _projected_line(i: int, t: Tensor, m: Mismatch, names: _Names = _DEFAULT_NAMES) -> str:
    (j,) = m.index
    return (
        f"{names.input(i)} (shape {t.shape}): the projected gradient w @ J differs at {m.count} "
        f"of {m.total} elements; worst at element {_unravel(j, t.shape)}: "
        f"{m.describe('analytic', 'numeric')}"
    )


def gradcheck(
    fn: Callable[..., Tensor],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    seed: int = 0,
    fast_mode: bool = True,
) -> bool:
    """Check ``fn``'s analytic gradients against central finite differences, in float64.

    ``inputs`` are passed to ``fn`` as given; every ``Tensor`` input with ``requires_grad``
    is checked and must be a float64 leaf (float32 differences are too coarse).  An entry passes
    if ``|analytic - numeric| <= atol + rtol * |numeric|``.

    ``fast_mode=True`` compares ``w @ J`` for a fixed random ``w`` (one backward pass);
    ``fast_mode=False`` compares every entry of the Jacobian (one backward pass per output
    element), as ``torch.autograd.gradcheck`` does by default.  ``seed`` fixes ``w`` (it is a
    projection, not a source of test data).

    Returns True, or raises ``GradcheckError`` that says which check ran and, for every input
    that fails, how many Jacobian entries differ out of how many and the worst one: its place,
    the analytic and numeric values, their absolute and relative error and the tolerance.
    The inputs' data and ``.grad`` are as they were before the call.

    >>> import minigrad as mg
    >>> x = mg.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    >>> gradcheck(lambda t: (t * t).sum(), x)
    True
    """
    __tracebackhide__ = True  # pytest shows the message, not this function's body
    return check_against_differences(
        fn, inputs, eps, atol, rtol, seed, fast_mode, "gradcheck: backward", _DEFAULT_NAMES
    )


def check_against_differences(
    fn: Callable[..., Tensor],
    inputs: tuple[Any, ...],
    eps: float,
    atol: float,
    rtol: float,
    seed: int,
    fast_mode: bool,
    what: str,
    names: _Names,
) -> bool:
    """:func:`gradcheck`'s work; ``what`` starts the failure message and ``names`` names the
    inputs and output elements in it (gradgradcheck checks a derived function this way)."""
    __tracebackhide__ = True
    checked = _checked_inputs(inputs)
    y = _as_output(fn(*inputs))
    if not y.requires_grad:
        raise GradcheckError(f"{what}: the output does not require grad (graph not recorded)")
    out_size = y.data.size
    n_in = sum(t.data.size for _, t in checked)
    keep_jacobian = out_size * n_in <= MAX_JACOBIAN_ENTRIES
    if not fast_mode and not keep_jacobian:
        raise ValueError(
            f"gradcheck(fast_mode=False): the Jacobian has {out_size} x {n_in} entries, more "
            f"than {MAX_JACOBIAN_ENTRIES}; use smaller inputs or fast_mode=True"
        )
    old_grads = [t.grad for _, t in checked]
    try:
        lines = _compare(
            fn, inputs, checked, y, eps, atol, rtol, seed, fast_mode, keep_jacobian, names
        )
    finally:
        for (_, t), g in zip(checked, old_grads):
            t.grad = g
    if lines is None:
        return True
    if not fast_mode:
        mode = "full Jacobian: every entry d output[k] / d input[j], one backward per output"
    elif out_size == 1:
        mode = "fast mode; the output has one element, so its gradient is the whole Jacobian"
    else:
        mode = (
            "fast mode: compared w @ J, the gradient of sum(w * output) for a fixed random w, "
            "element by element; pass fast_mode=False to compare every Jacobian entry"
        )
    raise GradcheckError(
        f"{what} disagrees with finite differences (eps={eps:g}; {mode})\n" + "\n".join(lines)
    )


def _compare(
    fn: Callable[..., Tensor],
    inputs: tuple[Any, ...],
    checked: list[tuple[int, Tensor]],
    y: Tensor,
    eps: float,
    atol: float,
    rtol: float,
    seed: int,
    fast_mode: bool,
    keep_jacobian: bool,
    names: _Names,
) -> list[str] | None:
    """The lines of the failure message, one or more per failing input; None if all agree."""
    numeric = [_numeric_columns(fn, inputs, t, eps) if keep_jacobian else None for _, t in checked]
    if fast_mode:
        w = np.random.default_rng(seed).standard_normal(y.shape) if y.ndim else np.array(1.0)
        for _, t in checked:
            t.grad = None
        y.backward(w.astype(y.dtype))
        projected = []
        for (_, t), jac in zip(checked, numeric):
            analytic = _dense_grad(t).reshape(-1)
            num = jac.T @ w.reshape(-1) if jac is not None else None
            if num is None:
                num = _numeric_projected(fn, inputs, t, eps, w)
            projected.append(find_mismatch(analytic, num, atol, rtol))
        if all(m is None for m in projected):
            return None
    else:
        projected = [None] * len(checked)
    lines = []
    analytic_jac = _analytic_jacobians(fn, inputs, checked) if keep_jacobian else None
    for n, ((i, t), proj) in enumerate(zip(checked, projected)):
        if analytic_jac is None:  # too large to keep: the projected values are all there is
            if proj is not None:
                lines.append(
                    _projected_line(i, t, proj, names) + f" (the Jacobian, {y.data.size} x "
                    f"{t.data.size}, is too large to build for this message)"
                )
            continue
        full = find_mismatch(analytic_jac[n], numeric[n], atol, rtol)
        if full is not None:
            lines.append(_jacobian_line(i, t, y.shape, full, names))
        elif proj is not None:  # within tolerance entry by entry, not in sum
            lines.append(
                _projected_line(i, t, proj, names)
                + "; yet no single Jacobian entry is outside the "
                "tolerance (small errors in many entries add up): compare with fast_mode=False"
            )
    return lines or None
