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
from numba import njit

from minigrad.grad_mode import no_grad
from minigrad.kernels.prefetch import PREFETCH_AHEAD, prefetch_row
from minigrad.nn.sparse import RowSparseGrad
from minigrad.optim.optimizer import Optimizer, bump


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
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        if wd:
            if self.decoupled:
                p.data *= 1 - lr * wd
            else:
                g = g + wd * p.data
        m += (1 - b1) * (g - m)
        v *= b2
        v += (1 - b2) * (g * g)
        step_size = lr / (1 - b1**t)
        denom = np.sqrt(v) / math.sqrt(1 - b2**t)
        denom += eps
        p.data -= step_size * (m / denom)

    def _sparse_step(self, p: Any, g: RowSparseGrad, state: dict, group: dict) -> None:
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        rows, vals = g.indices, g.values
        if rows.shape[0] == 0:
            return
        t = state["step"]
        step_size = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        if not _kernel_ok(p.data, m, v, rows, vals):
            lazy_adam_rows_numpy(
                p.data, m, v, rows, vals, b1, b2, eps, wd, lr, self.decoupled, step_size
            )
            return
        f = p.data.dtype.type  # every constant in the parameter's precision, as numpy would
        lazy_adam_rows_kernel(
            p.data,
            m,
            v,
            rows,
            np.ascontiguousarray(vals, dtype=p.data.dtype),
            f(1 - b1),
            f(1 - b2),
            f(eps),
            f(step_size),
            f(0 if self.decoupled else wd),
            f(1 - lr * wd if self.decoupled else 1),
        )


def _kernel_ok(p: np.ndarray, m: np.ndarray, v: np.ndarray, rows: np.ndarray, vals: Any) -> bool:
    """Can the compiled kernel run safely? (numba does no bounds checks, so check here.)"""
    if p.dtype not in (np.float32, np.float64) or not p.flags.c_contiguous or p.ndim != 2:
        return False
    if not (m.flags.c_contiguous and v.flags.c_contiguous and m.dtype == v.dtype == p.dtype):
        return False
    if rows.dtype != np.int64 or vals.shape != (rows.shape[0], p.shape[1]):
        raise ValueError(
            f"row-sparse gradient does not fit the parameter: indices {rows.shape} "
            f"{rows.dtype}, values {vals.shape}, parameter {p.shape}"
        )
    lo, hi = int(rows.min()), int(rows.max())
    if lo < 0 or hi >= p.shape[0]:
        raise IndexError(
            f"row-sparse gradient has row {lo if lo < 0 else hi}, parameter has {p.shape[0]} rows"
        )
    return True


def lazy_adam_rows_numpy(p, m, v, rows, vals, b1, b2, eps, wd, lr, decoupled, step_size) -> None:
    """The lazy (SparseAdam) update of the rows ``rows``, in plain numpy: the reference.

    Each line is one of the formulas in the module docstring, applied to the gathered rows.
    """
    prow = p[rows]
    if wd:
        if decoupled:
            prow *= 1 - lr * wd
        else:
            vals = vals + wd * prow
    m_old, v_old = m[rows], v[rows]
    m_new = m_old + (1 - b1) * (vals - m_old)
    v_new = v_old + (1 - b2) * (vals * vals - v_old)
    m[rows], v[rows] = m_new, v_new
    prow -= step_size * (m_new / (np.sqrt(v_new) + eps))
    p[rows] = prow


# error_model="numpy": a float division by zero gives inf/NaN as in NumPy instead of raising
# ZeroDivisionError; the check numba otherwise puts before every division stops LLVM from
# vectorising the loop (measured 6x slower on cache-resident rows).
@njit(cache=True, nogil=True, error_model="numpy")
def lazy_adam_rows_kernel(p, m, v, rows, vals, c1, c2, eps, step_size, l2, decay):
    """The same update fused: each touched row of p, m and v is read and written once.

    ``c1 = 1 - beta1``, ``c2 = 1 - beta2``; ``l2`` is Adam's weight decay (0 for AdamW),
    ``decay`` AdamW's factor ``1 - lr * wd`` (1 for Adam).  Rows must be unique and in range.
    The rows of the three tables that come ``PREFETCH_AHEAD`` rows later are requested from
    memory early (``minigrad.kernels.prefetch``): in a 1e6-row table each row is a cache miss,
    and overlapping them made this loop 2.4x faster.
    """
    n = rows.shape[0]
    for j in range(n):
        if j + PREFETCH_AHEAD < n:
            later = rows[j + PREFETCH_AHEAD]
            prefetch_row(p, later)
            prefetch_row(m, later)
            prefetch_row(v, later)
        r = rows[j]
        for c in range(p.shape[1]):
            w = p[r, c]
            if decay != 1:
                w = w * decay
            gj = vals[j, c]
            if l2 != 0:
                gj = gj + l2 * w
            mj = m[r, c] + c1 * (gj - m[r, c])
            vj = v[r, c] + c2 * (gj * gj - v[r, c])
            m[r, c] = mj
            v[r, c] = vj
            p[r, c] = w - step_size * (mj / (np.sqrt(vj) + eps))


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
