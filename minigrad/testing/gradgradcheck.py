"""Second derivatives checked by finite differences: is the double backward right?

``gradcheck`` checks backward: the analytic gradient against differences of the function.
``gradgradcheck`` checks the *double* backward (``create_graph=True``, each op's
``backward_graph``) the same way, one level up: it takes the function that gradcheck's
analytic gradient computes,

    first(x, v) = d sum(v * fn(x)) / dx          (a vector-Jacobian product, with a graph)

and gradchecks *that*: its backward is the double backward of ``fn``, its finite differences
come from running the first backward at nudged inputs.  ``v`` (the upstream gradient) is an
input too, because a double backward has a gradient with respect to it as well (``first`` is
linear in ``v``): Hessian-vector products need both parts right.

An op here has two backwards: the numpy ``backward`` of the plain path and ``backward_graph``,
the same formula in Tensor ops, which ``create_graph=True`` runs.  Differences of
``backward_graph``'s own output would not notice that it computes a wrong first derivative,
consistently; so the first derivatives are also compared with the plain ``backward``'s first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import minigrad
from minigrad.grad_mode import enable_grad
from minigrad.tensor import Tensor
from minigrad.testing.gradcheck import (
    GradcheckError,
    _checked_inputs,
    _Names,
    _unravel,
    check_against_differences,
)
from minigrad.testing.mismatch import find_mismatch


class _SecondOrderNames(_Names):
    """Names for the failure message: which first derivative an output element belongs to."""

    def __init__(self, n_inputs: int, checked: list[tuple[int, Tensor]]) -> None:
        self.v = n_inputs  # the upstream gradient v comes after fn's own inputs
        self.parts = []  # (start offset, input index, shape) of each first derivative
        start = 0
        for i, t in checked:
            self.parts.append((start, i, t.shape))
            start += t.data.size

    def input(self, i: int) -> str:
        return "the upstream gradient v" if i == self.v else f"input {i}"

    def output_element(self, k: int, out_shape: tuple[int, ...]) -> str:
        for start, i, shape in reversed(self.parts):
            if k >= start:
                return f"element {_unravel(k - start, shape)} of d sum(v * out) / d input {i}"
        return super().output_element(k, out_shape)


def gradgradcheck(
    fn: Callable[..., Tensor],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    seed: int = 0,
    fast_mode: bool = True,
) -> bool:
    """Check ``fn``'s second derivatives (its double backward) against finite differences.

    The inputs follow :func:`gradcheck`'s rules (every Tensor input with ``requires_grad`` is
    checked and must be a float64 leaf).  A fixed random upstream gradient ``v`` (from
    ``seed``) is drawn; the function checked is ``x, v -> d sum(v * fn(x)) / dx`` for all
    checked inputs, flattened and concatenated, computed with ``create_graph=True``.  Its
    analytic Jacobian is the double backward; its numeric one comes from first backwards at
    nudged inputs.  Returns True or raises ``GradcheckError`` naming, for the worst entry, the
    input (or ``v``) and which first derivative it belongs to.

    >>> import minigrad as mg
    >>> x = mg.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
    >>> gradgradcheck(lambda t: (t * t * t).sum(), x)
    True
    """
    __tracebackhide__ = True
    checked = _checked_inputs(inputs)
    with enable_grad():
        y = fn(*inputs)
    if not isinstance(y, Tensor):
        raise TypeError(f"gradgradcheck: fn must return a Tensor, got {type(y).__name__}")
    rng = np.random.default_rng(seed)
    v = Tensor(rng.standard_normal(y.shape), dtype=np.float64, requires_grad=True)
    positions = [i for i, _ in checked]

    def first_derivatives(*args: Any) -> Tensor:
        *xs, upstream = args
        with enable_grad():
            out = fn(*xs)
            if not out.requires_grad:
                raise ValueError("gradgradcheck: fn's output does not require grad")
            grads = minigrad.grad(
                out,
                [xs[i] for i in positions],
                grad_outputs=upstream.to(out.dtype),
                create_graph=True,
                allow_unused=True,
            )
            parts = [
                (g if g is not None else minigrad.zeros(xs[i].shape, dtype=np.float64)).reshape(-1)
                for i, g in zip(positions, grads)
            ]
            return minigrad.cat(parts)

    _same_first_derivatives(fn, inputs, checked, v, atol, rtol)
    return check_against_differences(
        first_derivatives,
        (*inputs, v),
        eps,
        atol,
        rtol,
        seed,
        fast_mode,
        "gradgradcheck: the double backward (create_graph=True)",
        _SecondOrderNames(len(inputs), checked),
    )


def _same_first_derivatives(
    fn: Callable[..., Tensor],
    inputs: tuple[Any, ...],
    checked: list[tuple[int, Tensor]],
    v: Tensor,
    atol: float,
    rtol: float,
) -> None:
    """Raise unless ``backward_graph`` (create_graph=True) gives the plain backward's values."""
    __tracebackhide__ = True
    xs = [t for _, t in checked]
    found = []
    for create_graph in (False, True):
        with enable_grad():
            out = fn(*inputs)
            grads = minigrad.grad(
                out, xs, grad_outputs=v.detach().to(out.dtype), create_graph=create_graph,
                allow_unused=True,
            )  # fmt: skip
        found.append([None if g is None else np.asarray(g.data, dtype=np.float64) for g in grads])
    lines = []
    for (i, t), plain, graph in zip(checked, *found):
        if (plain is None) != (graph is None):
            lines.append(
                f"input {i}: backward gives {'no' if plain is None else 'a'} gradient, "
                f"backward_graph {'none' if graph is None else 'one'}"
            )
            continue
        if plain is None:
            continue
        m = find_mismatch(graph.reshape(-1), plain.reshape(-1), atol, rtol)
        if m is not None:
            (j,) = m.index
            lines.append(
                f"input {i} (shape {t.shape}): {m.count} of {m.total} elements differ; worst at "
                f"element {_unravel(j, t.shape)}: {m.describe('backward_graph', 'backward')}"
            )
    if lines:
        raise GradcheckError(
            "gradgradcheck: the first derivative that create_graph=True computes (each op's "
            "backward_graph) differs from the plain backward's\n" + "\n".join(lines)
        )
