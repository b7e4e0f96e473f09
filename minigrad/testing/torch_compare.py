"""Differential testing against PyTorch: the same inputs through both, outputs and gradients.

``assert_matches_torch(fn, torch_fn, *inputs)`` gives each framework its own copy of the
inputs, runs ``fn`` on minigrad tensors and ``torch_fn`` on torch tensors, backpropagates the same
random upstream gradient through both, and compares every output and every input gradient.  A
failure lists each disagreement with the worst element, as ``gradcheck`` does.  PyTorch is
optional (the ``compare`` extra): without it the test is skipped, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.tensor import Tensor
from minigrad.testing.mismatch import find_mismatch

__all__ = ["assert_matches_torch"]

#: (rtol, atol) by dtype when none is given: torch.testing.assert_close's defaults
DEFAULT_TOLERANCES = {
    np.dtype(np.float16): (1e-3, 1e-5),
    np.dtype(np.float32): (1.3e-6, 1e-5),
    np.dtype(np.float64): (1e-7, 1e-7),
}


def _skip(reason: str) -> None:
    __tracebackhide__ = True
    try:
        import pytest
    except ImportError:  # another test runner: unittest's skip works there (and in pytest)
        import unittest

        raise unittest.SkipTest(reason) from None
    pytest.skip(reason)


def _import_torch() -> Any:
    __tracebackhide__ = True
    try:
        import torch
    except ImportError:
        _skip(
            "assert_matches_torch: PyTorch is not installed, so there is nothing to compare "
            "with (pip install 'minigrad[compare]' installs it)"
        )
    return torch


def _flatten(out: Any) -> list[Any]:
    """An op's result as a list: a tensor alone, or the items of a (nested) tuple or list."""
    if isinstance(out, (tuple, list)):
        return [leaf for item in out for leaf in _flatten(item)]
    return [out]


def _to_numpy(x: Any, torch: Any) -> np.ndarray:
    if isinstance(x, Tensor):
        return np.asarray(x.data)
    if isinstance(x, torch.Tensor):
        x = x.detach()
        if x.layout != torch.strided:  # a sparse gradient
            x = x.to_dense()
        return x.numpy()
    return np.asarray(x)


def _grad_of(t: Any, torch: Any) -> np.ndarray:
    g = t.grad
    if g is None:  # no gradient reached this input: zeros of its dtype
        return np.zeros(tuple(t.shape), dtype=_to_numpy(t, torch).dtype)
    if hasattr(g, "to_dense") and not isinstance(g, torch.Tensor):  # minigrad row-sparse
        g = g.to_dense()
    return _to_numpy(g, torch)


def _tolerances(dtype: np.dtype, rtol: float | None, atol: float | None) -> tuple[float, float]:
    if dtype.kind != "f":
        return (0.0 if rtol is None else rtol, 0.0 if atol is None else atol)
    d_rtol, d_atol = DEFAULT_TOLERANCES.get(dtype, (1e-7, 1e-7))
    return (d_rtol if rtol is None else rtol, d_atol if atol is None else atol)


def _compare(
    what: str,
    actual: np.ndarray,
    expected: np.ndarray,
    rtol: float | None,
    atol: float | None,
    check_dtype: bool,
) -> str | None:
    """One line saying how ``actual`` (minigrad) differs from ``expected`` (torch), or None."""
    if actual.shape != expected.shape:
        return f"{what}: shape {actual.shape} in minigrad, {expected.shape} in torch"
    if check_dtype and actual.dtype != expected.dtype:
        return f"{what}: dtype {actual.dtype} in minigrad, {expected.dtype} in torch"
    r, a = _tolerances(np.promote_types(actual.dtype, expected.dtype), rtol, atol)
    m = find_mismatch(actual, expected, atol=a, rtol=r)
    if m is None:
        return None
    return (
        f"{what} (shape {actual.shape}, {actual.dtype}): {m.count} of {m.total} elements "
        f"differ; worst at element {m.index}: {m.describe('minigrad', 'torch')}"
    )


def assert_matches_torch(
    fn: Callable[..., Any],
    torch_fn: Callable[..., Any],
    *inputs: Any,
    atol: float | None = None,
    rtol: float | None = None,
    grad: bool = True,
    check_dtype: bool = True,
    seed: int = 0,
) -> None:
    """Assert that ``fn`` (minigrad) and ``torch_fn`` (PyTorch) agree, forward and backward.

    Each input is handed to both sides as its own copy: a minigrad ``Tensor`` becomes a fresh
    minigrad leaf and a torch leaf with the same values, dtype and ``requires_grad``; a numpy
    array stays an array for ``fn`` and becomes a torch tensor for ``torch_fn`` (integer ids and
    targets, say); anything else (numbers, None, dims) is passed to both unchanged.  The
    originals, their data and ``.grad`` are not touched.

    ``fn`` may return a tensor or a tuple/list of them (``torch_fn`` the same structure).
    Every output is compared (shape, dtype unless ``check_dtype=False``, values).  With
    ``grad=True`` the same random upstream gradient (``seed``) is backpropagated through every
    floating-point output on both sides, and the gradient of every input that requires grad is
    compared (a missing gradient counts as zeros; row-sparse and torch sparse gradients are
    densified).

    Tolerance: ``|minigrad - torch| <= atol + rtol * |torch|``; by default per dtype as in
    ``torch.testing.assert_close`` (float32: rtol 1.3e-6, atol 1e-5; float64: 1e-7, 1e-7),
    exact for integers.  Raises ``AssertionError`` naming every output or gradient that
    differs, with how many elements differ and the worst one; calls ``pytest.skip`` (or raises
    ``unittest.SkipTest`` outside pytest) when PyTorch is not installed.

    >>> import numpy as np, torch
    >>> x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    >>> assert_matches_torch(lambda t: t.tanh(), torch.tanh, x)
    """
    __tracebackhide__ = True  # pytest shows the message, not this function's body
    torch = _import_torch()
    mg_in: list[Any] = []
    t_in: list[Any] = []
    for x in inputs:
        if isinstance(x, Tensor):
            data = np.array(x.data, copy=True)
            mg_in.append(Tensor(data, requires_grad=x.requires_grad))
            t_in.append(torch.tensor(data, requires_grad=x.requires_grad))
        elif isinstance(x, np.ndarray):
            mg_in.append(np.array(x, copy=True))
            t_in.append(torch.tensor(np.array(x, copy=True)))
        else:
            mg_in.append(x)
            t_in.append(x)

    mg_out = _flatten(fn(*mg_in))
    t_out = _flatten(torch_fn(*t_in))
    if len(mg_out) != len(t_out):
        raise AssertionError(
            f"minigrad returned {len(mg_out)} outputs, torch {len(t_out)}: cannot compare"
        )
    problems = []
    for k, (m, t) in enumerate(zip(mg_out, t_out)):
        what = "output" if len(mg_out) == 1 else f"output {k}"
        line = _compare(what, _to_numpy(m, torch), _to_numpy(t, torch), rtol, atol, check_dtype)
        if line:
            problems.append(line)

    if grad and not problems:
        problems += _compare_gradients(mg_in, t_in, mg_out, t_out, torch, rtol, atol, seed)
    if problems:
        raise AssertionError("minigrad and torch disagree:\n" + "\n".join(problems))


def _compare_gradients(
    mg_in: list[Any],
    t_in: list[Any],
    mg_out: list[Any],
    t_out: list[Any],
    torch: Any,
    rtol: float | None,
    atol: float | None,
    seed: int,
) -> list[str]:
    """Backpropagate one random upstream gradient per output through both; compare grads."""
    rng = np.random.default_rng(seed)
    mg_roots, t_roots, t_grads = [], [], []
    for k, (m, t) in enumerate(zip(mg_out, t_out)):
        m_grad = isinstance(m, Tensor) and m.requires_grad
        t_grad = isinstance(t, torch.Tensor) and t.requires_grad
        if m_grad != t_grad:
            return [f"output {k}: requires_grad is {m_grad} in minigrad, {t_grad} in torch"]
        if m_grad:
            g = rng.standard_normal(m.shape).astype(m.dtype)
            mg_roots.append((m, g))
            t_roots.append(t)
            t_grads.append(torch.tensor(g, dtype=t.dtype))
    if not mg_roots:
        return []
    for n, (m, g) in enumerate(mg_roots):
        m.backward(g, retain_graph=n < len(mg_roots) - 1)  # several outputs may share a graph
    torch.autograd.backward(t_roots, t_grads)
    problems = []
    for i, (m, t) in enumerate(zip(mg_in, t_in)):
        if isinstance(m, Tensor) and m.requires_grad:
            line = _compare(
                f"gradient of input {i}",
                _grad_of(m, torch),
                _grad_of(t, torch),
                rtol,
                atol,
                check_dtype=False,
            )
            if line:
                problems.append(line)
    return problems
