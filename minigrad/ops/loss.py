"""Cross-entropy as one fused op: log-softmax and negative log-likelihood in a single node.

For one row of logits ``z`` (C classes), target class ``t`` and label smoothing ``eps``::

    log p_c = z_c - logsumexp(z)                   # log_softmax
    q_c     = (1 - eps) [c == t] + eps / C         # the (smoothed) one-hot target
    loss    = -sum_c q_c log p_c
            = (1 - eps) (lse - z_t) + eps (lse - mean(z))     with lse = logsumexp(z)

and its gradient needs nothing but the softmax:  d loss / d z = softmax(z) - q.
(Because d lse / d z = softmax(z) and sum_c q_c = 1.)

Fusing means: no one-hot matrix, no separate log-softmax array and node.  The forward makes one
pass of ``exp`` into a single (N, C) buffer and keeps it; the backward turns that same buffer into
``softmax - q`` in place, so the whole loss costs one N x C allocation.
"""

from __future__ import annotations

import numpy as np

from minigrad.autograd import Function


class CEState:
    """What the numpy forward keeps for the backward (the kernel's ``state`` plays this role)."""

    __slots__ = ("consumed", "e", "eps", "logits", "m", "s", "target", "valid")


def ce_forward_numpy(
    logits: np.ndarray, target: np.ndarray, ignore_index: int, label_smoothing: float
) -> tuple[np.ndarray, CEState]:
    """Per-row loss of (N, C) logits, and the state for :func:`ce_backward_numpy`.

    Rows whose target is ``ignore_index`` get loss 0.  Stable for logits of +-1e4 (the row max
    is subtracted before ``exp``) and for rows containing ``-inf``; NaN anywhere in a row gives
    a NaN loss for that row.

    >>> loss, _ = ce_forward_numpy(np.array([[0.0, 0.0]]), np.array([1]), -100, 0.0)
    >>> round(float(loss[0]), 4)   # log 2
    0.6931
    """
    n = logits.shape[0]
    st = CEState()
    st.logits, st.target, st.eps, st.consumed = logits, target, label_smoothing, False
    st.valid = target != ignore_index
    if n == 0:
        st.m = st.e = st.s = None
        return np.zeros(0, dtype=logits.dtype), st
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        m = logits.max(axis=1, keepdims=True)
        e = np.subtract(logits, m)
        np.exp(e, out=e)  # the one exp pass
        s = e.sum(axis=1)
        lse = m[:, 0] + np.log(s)
        safe_t = np.where(st.valid, target, 0)
        loss = lse - logits[np.arange(n), safe_t]  # -log p_t
        if label_smoothing:
            loss = (1 - label_smoothing) * loss + label_smoothing * (lse - logits.mean(axis=1))
    loss[~st.valid] = 0
    st.m, st.e, st.s = m, e, s
    return loss.astype(logits.dtype, copy=False), st


def ce_backward_numpy(st: CEState, grad_per_row: np.ndarray) -> np.ndarray:
    """d loss / d logits = (softmax - smoothed one-hot) * grad of each row's loss."""
    z = st.logits
    n, c = z.shape
    if n == 0:
        return np.zeros_like(z)
    with np.errstate(invalid="ignore", over="ignore"):
        if st.consumed:  # a second backward (retain_graph=True): the buffer was reused, redo it
            e = np.exp(z - st.m)
        else:
            e = st.e
            st.consumed = True
        p = np.divide(e, st.s[:, None], out=e)  # softmax, in the forward's buffer
        gr = grad_per_row.astype(z.dtype, copy=False)
        p *= gr[:, None]
        eps = st.eps
        rows = np.arange(n)
        t = np.where(st.valid, st.target, 0)
        p[rows, t] -= (1 - eps) * gr  # minus q at the target ...
        if eps:
            p -= (eps / c) * gr[:, None]  # ... and the smoothing mass everywhere
    if not st.valid.all():
        p[~st.valid] = 0  # ignored rows: exactly no gradient, even if their logits are NaN
    return p


try:  # the compiled fused kernel, when this checkout has it
    from minigrad.kernels.cross_entropy import (
        cross_entropy_backward as _ce_backward,
    )
    from minigrad.kernels.cross_entropy import (
        cross_entropy_forward as _ce_forward,
    )
except ImportError:  # pragma: no cover - depends on which kernels have landed
    _ce_forward, _ce_backward = ce_forward_numpy, ce_backward_numpy


class CrossEntropy(Function):
    """``CrossEntropy.apply(logits, target=..., ignore_index=, reduction=, label_smoothing=)``.

    ``target`` is a keyword (integer class ids carry no gradient).  Inputs are validated by
    ``nn.functional.cross_entropy``; this op only does the arithmetic.
    Layouts: (C,) with a 0-d target, (N, C) with (N,), (N, C, d1, ...) with (N, d1, ...).
    """

    def forward(
        self, logits, target=None, ignore_index=-100, reduction="mean", label_smoothing=0.0
    ):
        self.in_shape = logits.shape
        self.t_shape = target.shape
        self.reduction = reduction
        c = logits.shape[0] if logits.ndim == 1 else logits.shape[1]
        if logits.ndim <= 2:
            z = logits.reshape(-1, c)
        else:  # (N, C, d1, ...) -> (N * d1 * ..., C): the class axis last, one row per position
            z = np.moveaxis(logits, 1, -1).reshape(-1, c)
        t = target.reshape(-1)
        loss_rows, self.state = _ce_forward(z, t, ignore_index, label_smoothing)
        self.valid = t != ignore_index
        if reduction == "none":
            return loss_rows.reshape(target.shape)
        total = loss_rows.sum(dtype=logits.dtype)
        if reduction == "sum":
            return total
        self.count = int(self.valid.sum())
        # mean over the rows that were not ignored; 0 of them gives NaN (0 / 0), as in PyTorch
        return total / self.count if self.count else np.array(np.nan, dtype=logits.dtype)

    def backward(self, grad):
        if self.reduction == "none":
            gr = np.asarray(grad).reshape(-1)
        else:
            n = self.valid.shape[0]
            # sum: every row's loss enters with weight 1; mean: with weight 1 / count
            scale = grad if self.reduction == "sum" else grad / max(self.count, 1)
            gr = np.full(n, scale, dtype=np.asarray(grad).dtype)
        gz = _ce_backward(self.state, gr)
        if len(self.in_shape) <= 2:
            return gz.reshape(self.in_shape)
        c = self.in_shape[1]
        lead = (self.in_shape[0], *self.in_shape[2:])
        return np.moveaxis(gz.reshape(*lead, c), -1, 1)
