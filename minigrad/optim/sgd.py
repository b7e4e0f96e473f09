"""Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay.

Dense update, exactly PyTorch's ``torch.optim.SGD`` (g is the gradient, p the parameter)::

    g = g + weight_decay * p
    buf = g                                   (first step)
    buf = momentum * buf + (1 - dampening) * g  (later steps)
    g = g + momentum * buf   if nesterov   else   buf
    p = p - lr * g

Row-sparse update (``RowSparseGrad`` from ``Embedding(sparse=True)``): the same formulas, applied
to the touched rows only, so a step costs O(rows x d) whatever the vocabulary size.  Without
momentum this is exactly the dense update (a zero gradient row leaves a row unchanged, and
weight decay is applied to touched rows only, as PyTorch's sparse SGD does).  **With momentum
it differs from dense momentum**: dense momentum keeps moving every row along its velocity even
in steps where the row got no gradient (``buf = momentum * buf`` decays but still updates ``p``);
here a row's velocity is only read and decayed in steps where the row occurs, so a rare token
moves only when it is seen.  (The first sighting of a row also uses ``(1 - dampening) * g``
rather than ``g``; the two agree for the default ``dampening = 0``.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from minigrad import kernels
from minigrad.grad_mode import no_grad
from minigrad.optim.optimizer import Optimizer, bump
from minigrad.sparse import RowSparseGrad


class SGD(Optimizer):
    """``SGD(model.parameters(), lr=0.1, momentum=0.9)``; then ``loss.backward(); opt.step()``."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        for key in ("lr", "momentum", "weight_decay"):
            if group[key] < 0:
                raise ValueError(f"SGD {key} must be >= 0, got {group[key]}")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "Nesterov momentum needs momentum > 0 and dampening = 0, got "
                f"momentum={group['momentum']}, dampening={group['dampening']}"
            )

    @no_grad()
    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        for group in self.param_groups:
            for p, g in self._params_with_grad(group):
                if isinstance(g, RowSparseGrad):
                    self._sparse_step(p, g, group)
                else:
                    self._dense_step(p, g, group)
                bump(p)

    def _dense_step(self, p: Any, g: np.ndarray, group: dict[str, Any]) -> None:
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        if wd:
            g = g + wd * p.data  # d/dp (wd/2 |p|^2) = wd p
        if momentum:
            state = self.state.setdefault(p, {})
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, copy=True)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * g
            g = g + momentum * buf if group["nesterov"] else buf
        kernels.axpy_(p.data, -lr, g)  # p -= lr * g, without a temporary the size of p

    def _sparse_step(self, p: Any, g: RowSparseGrad, group: dict[str, Any]) -> None:
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        rows, vals = g.indices, g.values
        if rows.shape[0] == 0:
            return
        if wd:
            vals = vals + wd * p.data[rows]
        if momentum:
            state = self.state.setdefault(p, {})
            buf = state.get("momentum_buffer")
            if buf is None:
                # allocated and written once (O(V x d) on the first step only, as in PyTorch)
                buf = state["momentum_buffer"] = np.zeros_like(p.data)
            rbuf = momentum * buf[rows] + (1 - group["dampening"]) * vals
            buf[rows] = rbuf
            vals = vals + momentum * rbuf if group["nesterov"] else rbuf
        if p.data.flags.c_contiguous and vals.dtype == p.data.dtype:
            # rows are unique, so "add -lr * vals to those rows" is a scatter-add: one compiled
            # pass that reads and writes each touched row once (and validates the row ids)
            kernels.scatter_add(p.data, rows, vals * -lr)
        else:
            p.data[rows] -= lr * vals
