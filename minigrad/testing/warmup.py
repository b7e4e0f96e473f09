"""Compile minigrad's numba kernels ahead of the tests that use them.

A kernel is compiled the first time it is called with a new combination of argument types
(float32 or float64 rows, say), which takes from a fraction of a second to several seconds;
``cache=True`` keeps the result on disk, so the next process only loads it.  A property test
whose first example triggers that compilation takes far longer than Hypothesis' default 200 ms
deadline, and Hypothesis reports ``DeadlineExceeded`` (or "Unreliable test timings" once the
replay runs fast) for a test with nothing wrong in it.

``warm_up()`` runs each group's kernels once, on tiny inputs, through the same public functions
a model calls (so with the same argument types), for float32 and float64.  Call it where the
time is not measured: in a conftest, at import time of a test module, or let
:func:`minigrad.testing.ids` / :func:`~minigrad.testing.targets` do it when they are built.
It uses no random numbers (the caller's seeded streams are untouched) and runs each group at
most once per process.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["GROUPS", "warm_up"]

_FLOATS = (np.float32, np.float64)


def _embedding() -> None:
    # lookup (gather), dense gradient (scatter-add), row-sparse gradient (unique + sum) and the
    # accumulation of two row-sparse gradients (merge), as nn.Embedding runs them
    from minigrad.nn import functional as F
    from minigrad.tensor import Tensor

    for dtype in _FLOATS:
        for sparse in (False, True):
            weight = Tensor(np.zeros((4, 3), dtype=dtype), requires_grad=True)
            for ids in (np.array([0, 2, 2]), np.array([[1, 3], [3, 0]])):
                F.embedding(ids, weight, sparse=sparse).sum().backward()


def _cross_entropy() -> None:
    from minigrad.nn import functional as F
    from minigrad.tensor import Tensor

    for dtype in _FLOATS:
        logits = Tensor(np.zeros((3, 4), dtype=dtype), requires_grad=True)
        target = np.array([0, 3, -100])
        F.cross_entropy(logits, target).backward()
        F.cross_entropy(logits, target, label_smoothing=0.1, reduction="sum").backward()


def _gelu() -> None:
    from minigrad.nn import functional as F
    from minigrad.tensor import Tensor

    for dtype in _FLOATS:
        x = Tensor(np.zeros(3, dtype=dtype), requires_grad=True)
        F.gelu(x).sum().backward()


def _optim() -> None:
    # SGD (momentum and plain) and Adam, on dense and row-sparse embedding gradients
    from minigrad import optim
    from minigrad.nn import functional as F
    from minigrad.tensor import Tensor

    for dtype in _FLOATS:
        for sparse in (False, True):
            weight = Tensor(np.zeros((4, 3), dtype=dtype), requires_grad=True)
            for opt in (
                optim.SGD([weight], lr=0.1),
                optim.SGD([weight], lr=0.1, momentum=0.9),
                optim.Adam([weight], lr=0.1),
            ):
                for _ in range(2):
                    F.embedding(np.array([0, 2, 2]), weight, sparse=sparse).sum().backward()
                    opt.step()
                    opt.zero_grad()


def _transformer() -> None:
    # a transformer's own kernels: LayerNorm rows, the causal attention softmax and the head's
    # fused softmax-cross-entropy, forward and backward
    from minigrad.nn import functional as F
    from minigrad.tensor import Tensor

    for dtype in _FLOATS:
        x = Tensor(np.zeros((1, 2, 6), dtype=dtype), requires_grad=True)
        h = F.layer_norm(x, (6,), Tensor(np.ones(6, dtype)), Tensor(np.zeros(6, dtype)))
        y = F.causal_attention(h, n_heads=1)
        w = Tensor(np.zeros((3, 2), dtype=dtype), requires_grad=True)
        F.linear_cross_entropy(y.reshape(2, 2), w, np.array([0, 2])).backward()


#: group name -> what it runs; ``warm_up()`` without arguments runs them all
GROUPS: dict[str, Callable[[], None]] = {
    "embedding": _embedding,
    "cross_entropy": _cross_entropy,
    "gelu": _gelu,
    "optim": _optim,
    "transformer": _transformer,
}

_done: set[str] = set()


def warm_up(*groups: str) -> None:
    """Compile (or load from numba's cache) the kernels of ``groups``; all groups by default.

    Groups: ``"embedding"`` (lookup and both kinds of gradient), ``"cross_entropy"``,
    ``"gelu"``, ``"optim"`` (SGD and Adam steps, dense and row-sparse), ``"transformer"``
    (LayerNorm, causal attention, the fused linear cross-entropy).  Each runs once per
    process; later calls return at once.  Grad mode is switched on for the duration.
    """
    from minigrad.grad_mode import enable_grad

    names = groups or tuple(GROUPS)
    unknown = [g for g in names if g not in GROUPS]
    if unknown:
        raise ValueError(f"unknown warm-up group(s) {unknown}; known: {sorted(GROUPS)}")
    for name in names:
        if name in _done:
            continue
        with enable_grad():
            GROUPS[name]()
        _done.add(name)
