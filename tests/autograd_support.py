"""Helpers shared by the autograd-core tests: one assertion that checks an op both ways.

``check_op(fn, reference, *inputs)`` asserts that ``fn`` on minigrad tensors gives what the
numpy expression ``reference`` gives on the same arrays (forward), and that ``fn``'s backward
agrees with central finite differences for every input that requires grad (``gradcheck``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from minigrad import Tensor
from minigrad.testing import gradcheck, gradgradcheck


def arrays_of(inputs: tuple[Any, ...]) -> list[Any]:
    """The numpy arrays behind ``inputs`` (non-tensors pass through), copied."""
    return [np.array(t.data, copy=True) if isinstance(t, Tensor) else t for t in inputs]


def check_forward(
    fn: Callable[..., Tensor],
    reference: Callable[..., Any],
    *inputs: Any,
    rtol: float = 1e-12,
    atol: float = 1e-300,
) -> None:
    """``fn(*inputs)`` has the shape and dtype of the numpy ``reference`` and its values to
    ``rtol``; ``atol`` is for results that cancel to ~0, where two correct summation orders
    differ by far more than ``rtol`` of the result (see :func:`matmul_atol`)."""
    expected = np.asarray(reference(*arrays_of(inputs)))
    out = fn(*inputs)
    assert isinstance(out, Tensor)
    assert out.shape == expected.shape, (out.shape, expected.shape)
    assert out.dtype == expected.dtype, (out.dtype, expected.dtype)
    np.testing.assert_allclose(out.data, expected, rtol=rtol, atol=atol)


def matmul_atol(a: np.ndarray, b: np.ndarray) -> float:
    """How far two correct float64 evaluations of ``a @ b`` may differ in absolute terms.

    A dot product of length k summed in any order (BLAS, FMA or not) errs by at most
    ~k * eps * sum|a_i b_i|, so where the terms cancel (0.1*0.1 + 0.1*-0.1) one order gives 0.0
    and another -8e-19: both are right, and no relative tolerance can say so.
    """
    k = a.shape[-1]
    scale = float(np.max(np.matmul(np.abs(a), np.abs(b)), initial=0.0))
    return 2.0 * k * float(np.finfo(np.float64).eps) * scale + 1e-300


#: inputs with at most this many elements in all get their second derivatives checked too
SECOND_ORDER_ELEMENTS = 12


def check_op(
    fn: Callable[..., Tensor],
    reference: Callable[..., Any],
    *inputs: Any,
    rtol: float = 1e-12,
    atol: float = 1e-300,
) -> None:
    """Forward equals ``reference`` (numpy), and backward and double backward equal finite
    differences (``gradcheck``; ``gradgradcheck`` for inputs of a few elements)."""
    check_forward(fn, reference, *inputs, rtol=rtol, atol=atol)
    assert gradcheck(fn, *inputs)
    # second derivatives too: each checked element costs two first backwards, so only for
    # small inputs (most examples; shrinking ends there anyway)
    if sum(t.data.size for t in inputs if isinstance(t, Tensor)) <= SECOND_ORDER_ELEMENTS:
        assert gradgradcheck(fn, *inputs)


@st.composite
def reduction_dims(draw: st.DrawFn, ndim: int, allow_tuple: bool = True) -> Any:
    """A ``dim`` argument for a tensor with ``ndim`` dimensions: None, an int or a tuple.

    Negative dims are drawn too; tuples have distinct axes in any order.
    """
    if ndim == 0:
        return None
    kinds = ["none", "int", "tuple"] if allow_tuple else ["none", "int"]
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(a - ndim if draw(st.booleans()) else a for a in axes)


def numpy_axis(dim: Any) -> Any:
    """numpy's ``axis=`` for a minigrad ``dim`` (the same, but a list becomes a tuple)."""
    return tuple(dim) if isinstance(dim, list) else dim
