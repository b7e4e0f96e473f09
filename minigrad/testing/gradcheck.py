"""Finite-difference gradient checking: does backward agree with the definition of a derivative?

For every element x_i of every input that requires grad, the central difference
    (L(x + eps e_i) - L(x - eps e_i)) / (2 eps)
approximates dL/dx_i with error O(eps^2); backward must agree with it.  A non-scalar output y is
first projected onto a fixed random direction w (L = sum(w * y)), which checks the whole
Jacobian row space, not just the gradient of y.sum().
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.grad_mode import no_grad
from minigrad.tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numeric gradients disagree (the message names the input and element)."""


def _as_output(y: Any) -> Tensor:
    if not isinstance(y, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(y).__name__}")
    return y


def gradcheck(
    fn: Callable[..., Tensor],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    seed: int = 0,
) -> bool:
    """Check ``fn``'s analytic gradients against central finite differences, in float64.

    ``inputs`` are passed to ``fn`` as given; every ``Tensor`` input with ``requires_grad``
    is checked, element by element, and must be float64 (float32 differences are too coarse).
    Returns True, or raises ``GradcheckError`` naming the input, the element index, both
    values and the tolerance.  ``seed`` fixes the random projection direction for non-scalar
    outputs (it is a projection, not a source of test data).

    >>> import minigrad as mg
    >>> x = mg.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    >>> gradcheck(lambda t: (t * t).sum(), x)
    True
    """
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

    y = _as_output(fn(*inputs))
    rng = np.random.default_rng(seed)
    direction = rng.standard_normal(y.shape) if y.ndim else np.array(1.0)
    direction = direction.astype(np.float64)

    def objective() -> float:
        with no_grad():
            out = _as_output(fn(*inputs))
        return float(np.sum(out.data.astype(np.float64) * direction))

    for _, t in checked:
        t.grad = None
    if not y.requires_grad:
        raise GradcheckError("gradcheck: the output does not require grad (graph not recorded)")
    y.backward(direction.astype(y.dtype))

    for i, t in checked:
        analytic = t.grad
        if analytic is None:
            analytic = np.zeros_like(t.data)
        elif hasattr(analytic, "to_dense"):
            analytic = analytic.to_dense()
        analytic = np.asarray(analytic, dtype=np.float64)
        for idx in np.ndindex(t.shape):
            old = t.data[idx]
            t.data[idx] = old + eps
            plus = objective()
            t.data[idx] = old - eps
            minus = objective()
            t.data[idx] = old
            numeric = (plus - minus) / (2 * eps)
            a = analytic[idx]
            if not (abs(a - numeric) <= atol + rtol * abs(numeric)) and not (
                np.isnan(a) and np.isnan(numeric)
            ):
                raise GradcheckError(
                    f"gradient mismatch for input {i} (shape {t.shape}) at element {idx}: "
                    f"analytic {float(a)!r}, numeric {float(numeric)!r} "
                    f"(atol={atol}, rtol={rtol}, eps={eps})"
                )
    return True
