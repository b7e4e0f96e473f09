"""``linear_cross_entropy``: the output projection and the loss in one op, without the logits.

A language model ends with ``logits = hidden @ W.T + b`` (N x V) and ``cross_entropy(logits,
target)``.  With N = 8,192 positions and V = 32,768 words the logits alone take 1 GiB in
float32, and their gradient another 1 GiB, although each row is only needed for a moment: to get
its log-sum-exp and its gradient ``softmax - one_hot``.  So this op walks over the rows in chunks
of ``chunk_size``; for each chunk it computes the logits, the loss rows, and at once that chunk's
share of the three gradients::

    G_c      = (softmax(Z_c) - one_hot(t_c)) * w_c      # (chunk, V), w_c = 1/count for "mean"
    dL/dH_c  = G_c @ W                                  # this chunk's rows of dL/dhidden
    dL/dW   += G_c^T @ H_c                              # every chunk adds to the whole weight
    dL/db   += column sums of G_c

Peak memory is one (chunk, V) buffer instead of two (N, V) arrays; the arithmetic is the same
as the unfused path (one matmul forward, two backward, one exp per logit).

Why the gradients are computed in the forward: for a scalar loss ("mean" or "sum") the only
thing backward learns is one number, the upstream gradient g, and every gradient above is just
multiplied by it.  Computing them while the chunk's logits are at hand saves recomputing the
logits later (the other option, which doubles the big matmul).  With ``reduction="none"`` each
row's upstream gradient is unknown until backward, so backward recomputes the chunks then.

PyTorch has no such op (the feature request is open); Liger-Kernel and Apple's Cut Cross-Entropy
do this on GPUs.  Deliberately left out: label smoothing and class weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import grad_mode
from minigrad.autograd import Function
from minigrad.nn.functional import as_ids
from minigrad.tensor import Tensor

#: with ``chunk_size=None`` a chunk holds about this many logits (16 MiB in float32)
CHUNK_ELEMENTS = 1 << 22
_REDUCTIONS = ("mean", "sum", "none")


def _chunk_pass(h, weight, bias, t, valid, row_weight, chunk, need):
    """Loss per row, and (if ``row_weight`` is given) the gradients weighted per row.

    ``need`` = (hidden, weight, bias): which gradients to build.  Returns
    ``(loss_rows, gh, gw, gb)``, the unneeded ones None.
    """
    n, v = h.shape[0], weight.shape[0]
    loss = np.empty(n, dtype=h.dtype)
    grads = row_weight is not None
    gh = np.empty_like(h) if grads and need[0] else None
    gw = np.zeros_like(weight) if grads and need[1] else None
    gb = np.zeros(v, dtype=h.dtype) if grads and need[2] else None
    safe_t = np.where(valid, t, 0)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        for s in range(0, n, chunk):
            e = min(n, s + chunk)
            rows = np.arange(e - s)
            hc = h[s:e]
            z = hc @ weight.T  # (chunk, V): the only logits that exist at any time
            if bias is not None:
                z += bias
            z -= z.max(axis=1, keepdims=True)  # stable: exp of numbers <= 0
            z_t = z[rows, safe_t[s:e]]
            np.exp(z, out=z)
            total = z.sum(axis=1)
            loss[s:e] = np.log(total) - z_t  # logsumexp(z) - z_t, both shifted by the max
            if not grads:
                continue
            z /= total[:, None]  # softmax
            z[rows, safe_t[s:e]] -= 1  # softmax - one_hot(target)
            z *= row_weight[s:e, None]  # d loss / d logits for this chunk
            if not valid[s:e].all():
                z[~valid[s:e]] = 0  # ignored rows: no gradient, even from NaN logits
            if gh is not None:
                np.matmul(z, weight, out=gh[s:e])  # dL/dH_c = G_c W
            if gw is not None:
                if s == 0:
                    np.matmul(z.T, hc, out=gw)
                else:
                    gw += z.T @ hc  # dL/dW = sum over chunks of G_c^T H_c
            if gb is not None:
                gb += z.sum(axis=0)  # dL/db = column sums of G
    loss[~valid] = 0
    return loss, gh, gw, gb


class LinearCrossEntropyFn(Function):
    """``LinearCrossEntropyFn.apply(hidden, weight, bias, target=..., ...)``; bias may be None.

    ``hidden`` is (N, d) (leading dims already flattened), ``weight`` (V, d), ``bias`` (V,),
    ``target`` (N,) int64.  Validated by :func:`linear_cross_entropy`.
    """

    def forward(
        self,
        hidden,
        weight,
        bias=None,
        target=None,
        ignore_index=-100,
        reduction="mean",
        chunk_size=1024,
        need=(False, False, False),
    ):
        self.h, self.weight, self.bias, self.target = hidden, weight, bias, target
        self.reduction, self.chunk, self.need = reduction, chunk_size, need
        self.valid = valid = target != ignore_index
        self.count = count = int(valid.sum())
        self.saved = None
        row_weight = None
        if reduction != "none" and any(need):
            # mean: every valid row enters the loss with weight 1 / count; sum: with 1
            w = 1.0 / max(count, 1) if reduction == "mean" else 1.0
            row_weight = np.full(hidden.shape[0], w, dtype=hidden.dtype)
        loss, gh, gw, gb = _chunk_pass(
            hidden, weight, bias, target, valid, row_weight, chunk_size, need
        )
        if row_weight is not None:
            self.saved = (gh, gw, gb)
        if reduction == "none":
            return loss
        total = loss.sum(dtype=hidden.dtype)
        if reduction == "sum":
            return total
        # mean over the rows that were not ignored; none left gives NaN (0 / 0) as in PyTorch
        return total / count if count else np.array(np.nan, dtype=hidden.dtype)

    def backward(self, grad):
        if self.saved is not None:
            g = float(grad)  # d(final loss) / d(this scalar loss): every gradient scales by it
            if g == 1.0:
                return self.saved
            return tuple(None if a is None else a * a.dtype.type(g) for a in self.saved)
        # reduction="none": each row's upstream gradient is only known now; recompute the chunks
        row_weight = np.asarray(grad, dtype=self.h.dtype).reshape(-1)
        _, gh, gw, gb = _chunk_pass(
            self.h,
            self.weight,
            self.bias,
            self.target,
            self.valid,
            row_weight,
            self.chunk,
            self.need,
        )
        return gh, gw, gb


def linear_cross_entropy(
    hidden: Tensor,
    weight: Tensor,
    target: Any,
    bias: Tensor | None = None,
    chunk_size: int | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """``cross_entropy(hidden @ weight.T + bias, target)`` without ever holding all the logits.

    ``hidden`` is (..., d), ``weight`` (V, d) as a ``Linear``'s, ``bias`` (V,) or None,
    ``target`` integer class ids of shape ``hidden.shape[:-1]``.  ``chunk_size`` rows are
    processed at a time (default: about 4M logits per chunk).  ``ignore_index`` and
    ``reduction`` ("mean" over non-ignored rows, "sum", "none") as in
    ``nn.functional.cross_entropy``; the loss and the gradients for hidden, weight and bias
    equal that unfused path up to rounding.

    >>> h = Tensor(np.zeros((2, 3))); W = Tensor(np.ones((4, 3)))
    >>> round(linear_cross_entropy(h, W, [0, 3]).item(), 4)     # uniform over 4: log 4
    1.3863
    """
    if not isinstance(hidden, Tensor):
        hidden = Tensor(hidden)
    if hidden.dtype.kind != "f" or hidden.ndim < 1:
        raise TypeError(
            f"linear_cross_entropy hidden must be a floating point tensor of shape (..., d), "
            f"got dtype {hidden.dtype} and shape {hidden.shape}"
        )
    if not isinstance(weight, Tensor) or weight.ndim != 2 or weight.shape[1] != hidden.shape[-1]:
        raise ValueError(
            f"linear_cross_entropy weight must be a (V, {hidden.shape[-1]}) Tensor, got shape "
            f"{getattr(weight, 'shape', weight)}"
        )
    v = weight.shape[0]
    if bias is not None and (not isinstance(bias, Tensor) or bias.shape != (v,)):
        raise ValueError(
            f"linear_cross_entropy bias must be a ({v},) Tensor, got {getattr(bias, 'shape', bias)}"
        )
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and p.dtype != hidden.dtype:
            raise TypeError(
                f"linear_cross_entropy {name} has dtype {p.dtype}, hidden has {hidden.dtype}; "
                "they must match"
            )
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    t = as_ids(target, "linear_cross_entropy target")
    if t.shape != hidden.shape[:-1]:
        raise ValueError(
            f"linear_cross_entropy target must have shape {hidden.shape[:-1]} (hidden's leading "
            f"dimensions), got {t.shape}"
        )
    t = t.reshape(-1).astype(np.int64, copy=False)
    bad = (t != ignore_index) & ((t < 0) | (t >= v))
    if bad.any():
        raise IndexError(
            f"linear_cross_entropy target {int(t[bad][0])} is out of range for {v} classes "
            f"(valid targets are 0..{v - 1}, or ignore_index={ignore_index})"
        )
    if chunk_size is None:
        chunk_size = max(1, CHUNK_ELEMENTS // max(v, 1))
    if (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, (int, np.integer))
        or (chunk_size < 1)
    ):
        raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}")

    lead = hidden.shape[:-1]
    h2 = hidden if hidden.ndim == 2 else hidden.reshape(-1, hidden.shape[-1])
    enabled = grad_mode.is_grad_enabled()
    need = tuple(
        bool(enabled and p is not None and p.requires_grad) for p in (hidden, weight, bias)
    )
    out = LinearCrossEntropyFn.apply(
        h2,
        weight,
        bias,
        target=t,
        ignore_index=int(ignore_index),
        reduction=reduction,
        chunk_size=int(chunk_size),
        need=need,
    )
    if reduction == "none" and len(lead) != 1:
        out = out.reshape(lead)
    return out
