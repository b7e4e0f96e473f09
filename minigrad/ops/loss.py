"""Cross-entropy as one fused op: log-softmax and negative log-likelihood in a single node.

For one row of logits ``z`` (C classes), target class ``t`` and label smoothing ``eps``::

    log p_c = z_c - logsumexp(z)                   # log_softmax
    q_c     = (1 - eps) [c == t] + eps / C         # the (smoothed) one-hot target
    loss    = -sum_c q_c log p_c
            = (1 - eps) (lse - z_t) + eps (lse - mean(z))     with lse = logsumexp(z)

and its gradient needs nothing but the softmax:  d loss / d z = softmax(z) - q.
(Because d lse / d z = softmax(z) and sum_c q_c = 1.)

Fusing means: no one-hot matrix, no separate log-softmax array and node.  The arithmetic is in
``minigrad.kernels.cross_entropy``: the forward makes one pass of ``exp`` into a single (N, C)
buffer and keeps it; the backward turns that same buffer into ``softmax - q`` in place, so the
whole loss costs one N x C allocation.  This op adds what the kernel leaves out: the layouts,
the reductions, and a second backward (``retain_graph=True``), which recomputes the buffer.
"""

from __future__ import annotations

import numpy as np

from minigrad.autograd import Function
from minigrad.kernels.cross_entropy import cross_entropy_backward, cross_entropy_forward


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
        self.reduction = reduction
        c = logits.shape[0] if logits.ndim == 1 else logits.shape[1]
        if logits.ndim <= 2:
            z = logits.reshape(-1, c)
        else:  # (N, C, d1, ...) -> (N * d1 * ..., C): the class axis last, one row per position
            z = np.moveaxis(logits, 1, -1).reshape(-1, c)
        t = target.reshape(-1)
        loss_rows, self.state = cross_entropy_forward(z, t, ignore_index, label_smoothing)
        self.z, self.t, self.ignore_index, self.eps = z, t, ignore_index, label_smoothing
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
        if self.state is None:  # a second backward (retain_graph=True): recompute the buffer
            _, self.state = cross_entropy_forward(self.z, self.t, self.ignore_index, self.eps)
        gz = cross_entropy_backward(self.state, gr)
        # the buffer is the gradient now: let go of it, so the engine can hand it to a leaf as is
        self.state = None
        if len(self.in_shape) <= 2:
            # (no reshape when the shape already fits: a view would make the engine copy it)
            return gz if gz.shape == self.in_shape else gz.reshape(self.in_shape)
        c = self.in_shape[1]
        lead = (self.in_shape[0], *self.in_shape[2:])
        return np.moveaxis(gz.reshape(*lead, c), -1, 1)
