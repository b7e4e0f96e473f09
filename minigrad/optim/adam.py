"""Adam and AdamW, dense as in PyTorch, lazy (PyTorch's SparseAdam) for row-sparse gradients.

Dense update, exactly ``torch.optim.Adam`` / ``AdamW`` (t counts this parameter's steps)::

    g = g + weight_decay * p            (Adam: L2 penalty in the gradient)
    p = p * (1 - lr * weight_decay)     (AdamW: decoupled decay, instead of the line above)
    m = m + (1 - beta1) * (g - m)       (= beta1 m + (1 - beta1) g, PyTorch's lerp form)
    v = beta2 * v + (1 - beta2) * g^2
    p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

The division by ``1 - beta^t`` (bias correction) undoes the pull of m and v towards their zero
start during the first steps.

Row-sparse update (lazy Adam, the formulas of ``torch.optim.SparseAdam``): only the rows in the
gradient are read or written, so a step costs O(rows x d), never O(V x d).  How it differs from
dense Adam, which treats an absent row as a zero gradient:

* m and v of rows not in the gradient are **not** decayed: a rare token's moments keep their
  value until it occurs again (dense Adam would shrink them, and keep moving the row with its
  old momentum in steps where it did not occur; lazy Adam leaves the row untouched).
* t is the parameter's step count (every ``step()`` with a gradient), not the row's, so a row
  first seen at step 1000 gets almost no bias correction for its fresh, zero-started moments.
* As in SparseAdam, eps is added to ``sqrt(v)`` before the bias correction is folded into the
  step size: ``p -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)``.
* weight decay (Adam) / decoupled decay (AdamW) are applied to the touched rows only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from minigrad import kernels
from minigrad.grad_mode import no_grad
from minigrad.optim.optimizer import Optimizer, bump
from minigrad.sparse import RowSparseGrad


class Adam(Optimizer):
    """``Adam(model.parameters(), lr=1e-3)``: per-coordinate step sizes from gradient moments."""

    decoupled = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay}
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        b1, b2 = group["betas"]
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"Adam betas must be in [0, 1), got {group['betas']}")
        for key in ("lr", "eps", "weight_decay"):
            if group[key] < 0:
                raise ValueError(f"Adam {key} must be >= 0, got {group[key]}")

    def _state(self, p: Any) -> dict[str, Any]:
        state = self.state.get(p)
        if state is None:
            # Allocated and written once, O(V x d) on the first step as in PyTorch (lazily mapped
            # np.zeros pages would instead fault in, page by page, inside later sparse steps).
            state = self.state[p] = {
                "step": 0,
                "exp_avg": np.zeros_like(p.data),
                "exp_avg_sq": np.zeros_like(p.data),
            }
        return state

    @no_grad()
    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        for group in self.param_groups:
            for p, g in self._params_with_grad(group):
                state = self._state(p)
                state["step"] += 1
                if isinstance(g, RowSparseGrad):
                    self._sparse_step(p, g, state, group)
                else:
                    self._dense_step(p, g, state, group)
                bump(p)

    def _dense_step(self, p: Any, g: np.ndarray, state: dict, group: dict) -> None:
        # compiled: p, g, m and v read once, p, m and v written once (kernels/optim.py; its
        # numpy reference is the docstring's formulas line by line)
        kernels.adam_dense_(
            p.data,
            g,
            state["exp_avg"],
            state["exp_avg_sq"],
            beta1=group["betas"][0],
            beta2=group["betas"][1],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            lr=group["lr"],
            decoupled=self.decoupled,
            step=state["step"],
        )

    def _sparse_step(self, p: Any, g: RowSparseGrad, state: dict, group: dict) -> None:
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        rows, vals = g.indices, g.values
        if rows.shape[0] == 0:
            return
        t = state["step"]
        step_size = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        # compiled: each touched row of p, m and v is read and written once (kernels/optim.py)
        kernels.lazy_adam_rows(
            p.data,
            state["exp_avg"],
            state["exp_avg_sq"],
            rows,
            vals,
            beta1=b1,
            beta2=b2,
            eps=eps,
            weight_decay=wd,
            lr=lr,
            decoupled=self.decoupled,
            step_size=step_size,
        )


class AdamW(Adam):
    """Adam with decoupled weight decay (``p *= 1 - lr * weight_decay`` before the Adam step)."""

    decoupled = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
