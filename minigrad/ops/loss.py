"""Cross-entropy ops: ``CrossEntropy`` (logits in) and ``LinearCrossEntropy`` (no logits at all).

``CrossEntropy`` is log-softmax and negative log-likelihood in a single node.

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

``LinearCrossEntropy`` fuses the output projection too: see its docstring.  Both are called
through ``nn.functional`` (``cross_entropy``, ``linear_cross_entropy``), which validates the
targets and the reduction with one set of rules for the two.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from minigrad import kernels
from minigrad.autograd import Function, constant
from minigrad.ops.elementwise import Where

#: the reductions both losses know (checked by ``nn.functional``)
REDUCTIONS = ("mean", "sum", "none")


def reduce_rows(loss_rows: np.ndarray, count: int, reduction: str, dtype: np.dtype) -> np.ndarray:
    """The loss from the per-row losses: as they are (``"none"``), their sum, or their mean.

    The mean is over the ``count`` rows whose target is not ``ignore_index``; none left gives
    NaN (0 / 0), as in PyTorch.  Ignored rows hold a loss of 0, so the sum needs no mask.
    """
    if reduction == "none":
        return loss_rows
    total = loss_rows.sum(dtype=dtype)
    if reduction == "sum":
        return total
    return total / count if count else np.array(np.nan, dtype=dtype)


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
        loss_rows, self.state = kernels.cross_entropy_forward(z, t, ignore_index, label_smoothing)
        self.z, self.t, self.ignore_index, self.eps = z, t, ignore_index, label_smoothing
        self.valid = t != ignore_index
        self.count = int(self.valid.sum())
        return reduce_rows(loss_rows.reshape(target.shape), self.count, reduction, logits.dtype)

    def backward(self, grad):
        if self.reduction == "none":
            gr = np.asarray(grad).reshape(-1)
        else:
            n = self.valid.shape[0]
            # sum: every row's loss enters with weight 1; mean: with weight 1 / count
            scale = grad if self.reduction == "sum" else grad / max(self.count, 1)
            gr = np.full(n, scale, dtype=np.asarray(grad).dtype)
        if self.state is None:  # a second backward (retain_graph=True): recompute the buffer
            _, self.state = kernels.cross_entropy_forward(
                self.z, self.t, self.ignore_index, self.eps
            )
        gz = kernels.cross_entropy_backward(self.state, gr)
        # the buffer is the gradient now: let go of it, so the engine can hand it to a leaf as is
        self.state = None
        if len(self.in_shape) <= 2:
            # (no reshape when the shape already fits: a view would make the engine copy it)
            return gz if gz.shape == self.in_shape else gz.reshape(self.in_shape)
        c = self.in_shape[1]
        lead = (self.in_shape[0], *self.in_shape[2:])
        return np.moveaxis(gz.reshape(*lead, c), -1, 1)

    def backward_graph(self, grad):
        # d loss / d z = (softmax(z) - q) * (each row's weight), in Tensor ops: softmax(z) is
        # recomputed as an op from the logits, so the second derivative (softmax's Jacobian,
        # diag(p) - p p^T per row) comes out of it; q and the ignored rows are constants.
        logits, c = self.inputs[0], self.z.shape[1]
        nd = len(self.in_shape)
        if nd <= 2:
            z = logits.reshape(-1, c)
        else:  # (N, C, d1, ...) -> (N, d1, ..., C) -> rows of C
            z = logits.permute(0, *range(2, nd), 1).reshape(-1, c)
        q = _smoothed_one_hot(self.t, self.valid, c, self.eps, self.z.dtype)
        gz = _row_weighted(z.softmax(-1) - q, grad, self.reduction, self.count, self.valid)
        if nd <= 2:
            return gz.reshape(self.in_shape)
        lead = (self.in_shape[0], *self.in_shape[2:])
        return gz.reshape(*lead, c).permute(0, nd - 1, *range(1, nd - 1))


def _smoothed_one_hot(t, valid, c: int, eps: float, dtype) -> np.ndarray:
    """q: ``(1 - eps) one_hot(t) + eps / C`` per row, as an (N, C) array (backward_graph only)."""
    q = np.full((t.shape[0], c), eps / c, dtype=dtype)
    rows = np.nonzero(valid)[0]
    q[rows, t[rows]] += 1 - eps
    return q


def _row_weighted(per_row, grad, reduction: str, count: int, valid: np.ndarray):
    """``per_row`` (N, C) times each row's share of the upstream gradient, 0 for ignored rows.

    The share is ``grad[i]`` (reduction "none"), ``grad`` ("sum") or ``grad / count`` ("mean"):
    the weight of row i's loss in the loss that was returned.
    """
    if reduction == "none":
        w = grad.reshape(-1, 1)
    else:
        w = grad.reshape(1, 1)
        if reduction == "mean":
            w = w / max(count, 1)
    return Where.apply(valid[:, None], per_row * w, 0)


#: with ``chunk_size=None`` a chunk holds about this many logits (16 MiB in float32)
CHUNK_ELEMENTS = 1 << 22


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
    safe_t = np.where(valid, t, 0).astype(np.int64, copy=False)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        for s in range(0, n, chunk):
            e = min(n, s + chunk)
            hc = h[s:e]
            z = hc @ weight.T  # (chunk, V): the only logits that exist at any time
            if bias is not None:
                z += bias
            # per row, in one compiled pass while the row is in cache (kernels/softmax_rows.py):
            # loss = logsumexp(z) - z_t, and z becomes G_c = (softmax(z) - one_hot(t)) * w,
            # d loss / d logits for this chunk (ignored rows: no gradient, even from NaN logits)
            kernels.softmax_xent_rows_(
                z, safe_t[s:e], valid[s:e], None if not grads else row_weight[s:e], loss[s:e]
            )
            if not grads:
                continue
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


class LinearCrossEntropy(Function):
    """The output projection and the loss in one op, without ever holding all the logits.

    ``LinearCrossEntropy.apply(hidden, weight, bias, target=..., ...)``, bias may be None:
    ``hidden`` is (N, d) (leading dims already flattened), ``weight`` (V, d), ``bias`` (V,),
    ``target`` (N,) int64.  Validated by ``nn.functional.linear_cross_entropy``.

    A language model ends with ``logits = hidden @ W.T + b`` (N x V) and ``cross_entropy(logits,
    target)``.  With N = 8,192 positions and V = 32,768 words the logits alone take 1 GiB in
    float32, and their gradient another 1 GiB, although each row is only needed for a moment: to
    get its log-sum-exp and its gradient ``softmax - one_hot``.  So this op walks over the rows
    in chunks of ``chunk_size``; for each chunk it computes the logits, the loss rows, and at
    once that chunk's share of the three gradients::

        G_c      = (softmax(Z_c) - one_hot(t_c)) * w_c      # (chunk, V), w_c = 1/count for "mean"
        dL/dH_c  = G_c @ W                                  # this chunk's rows of dL/dhidden
        dL/dW   += G_c^T @ H_c                              # every chunk adds to the whole weight
        dL/db   += column sums of G_c

    Peak memory is one (chunk, V) buffer instead of two (N, V) arrays; the arithmetic is the same
    as the unfused path (one matmul forward, two backward, one exp per logit).

    Why the gradients are computed in the forward: for a scalar loss ("mean" or "sum") the only
    thing backward learns is one number, the upstream gradient g, and every gradient above is
    just multiplied by it.  Computing them while the chunk's logits are at hand saves recomputing
    the logits later (the other option, which doubles the big matmul).  With
    ``reduction="none"`` each row's upstream gradient is unknown until backward, so backward
    recomputes the chunks then.

    PyTorch has no such op (the feature request is open); Liger-Kernel and Apple's Cut
    Cross-Entropy do this on GPUs.  Deliberately left out: label smoothing and class weights.
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
        return reduce_rows(loss, count, reduction, hidden.dtype)

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

    def backward_graph(self, grad):
        # The unfused path in Tensor ops (logits = h W^T + b, then softmax - one_hot, row
        # weights, two matmuls): the (N, V) logits exist here, unlike in forward and backward.
        # That is the price of a second derivative through this op.
        h, w = self.operand(0, self.h), self.operand(1, self.weight)
        z = h @ w.mT
        if self.bias is not None:
            z = z + self.operand(2, self.bias)
        v = self.weight.shape[0]
        one_hot = _smoothed_one_hot(self.target, self.valid, v, 0.0, self.h.dtype)
        g = _row_weighted(z.softmax(-1) - one_hot, grad, self.reduction, self.count, self.valid)
        gh = g @ w if self.inputs[0] is not None else None
        gw = g.mT @ h if self.inputs[1] is not None else None
        gb = g.sum(dim=0) if self.inputs[2] is not None else None
        return gh, gw, gb


# --------------------------------------------------------------------------- weights, soft targets
def class_rows(a: np.ndarray) -> np.ndarray:
    """Logits (or a target of their shape) as rows of C classes: (C,) -> (1, C), (N, C) as it
    is, (N, C, d1, ...) -> (N * d1 * ..., C) with the class axis last."""
    if a.ndim <= 2:
        return a.reshape(-1, a.shape[-1])
    return np.moveaxis(a, 1, -1).reshape(-1, a.shape[1])


def from_class_rows(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of :func:`class_rows`: rows of C back to ``shape``."""
    if len(shape) <= 2:
        return g.reshape(shape)
    lead = (shape[0], *shape[2:])
    return np.moveaxis(g.reshape(*lead, shape[1]), -1, 1)


def class_rows_tensor(x, shape: tuple[int, ...]):
    """:func:`class_rows` in Tensor ops (recorded), for ``backward_graph``."""
    nd, c = len(shape), (shape[0] if len(shape) == 1 else shape[1])
    if nd <= 2:
        return x.reshape(-1, c)
    return x.permute(0, *range(2, nd), 1).reshape(-1, c)


def from_class_rows_tensor(g, shape: tuple[int, ...]):
    """:func:`from_class_rows` in Tensor ops (recorded), for ``backward_graph``."""
    nd = len(shape)
    if nd <= 2:
        return g.reshape(shape)
    lead = (shape[0], *shape[2:])
    return g.reshape(*lead, shape[1]).permute(0, nd - 1, *range(1, nd - 1))


def _row_shares(grad, reduction: str, denom):
    """d(final loss)/d(each row's loss) as an (N, 1) or (1, 1) Tensor: ``grad[i]`` ("none"),
    ``grad`` ("sum") or ``grad / denom`` ("mean"), for ``backward_graph``."""
    if reduction == "none":
        return grad.reshape(-1, 1)
    share = grad.reshape(1, 1)
    if reduction == "mean":
        share = share * (1.0 / denom if denom else 1.0)  # (denom 0: every row ignored)
    return share


def log_softmax_rows(z: np.ndarray) -> np.ndarray:
    """``z - logsumexp(z)`` per row, stable (shifted by the row max; NaN rows stay NaN)."""
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        shifted = z - z.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _row_grads(grad, reduction: str, n: int, denom, dtype) -> np.ndarray:
    """d(final loss)/d(each row's loss): the upstream gradient spread over the rows."""
    if reduction == "none":
        return np.asarray(grad, dtype=dtype).reshape(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = grad if reduction == "sum" else grad / denom
    return np.full(n, scale, dtype=dtype)


def _reduce(rows: np.ndarray, shape: tuple[int, ...], reduction: str, denom, dtype) -> np.ndarray:
    """The loss from the rows' losses: as they are (``shape``), their sum, or sum / ``denom``."""
    if reduction == "none":
        return rows.reshape(shape)
    total = rows.sum(dtype=dtype)
    if reduction == "sum":
        return total
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(total / dtype.type(denom), dtype=dtype)


class WeightedCrossEntropy(Function):
    """Cross-entropy of class targets with per-class weights ``w`` (PyTorch's ``weight=``).

    ``WeightedCrossEntropy.apply(logits, target=, weight=, ignore_index=, reduction=,
    label_smoothing=)``, layouts as :class:`CrossEntropy`.  For a row with target t, C classes
    and smoothing eps, as PyTorch defines it::

        loss = (1 - eps) w_t (lse - z_t) + (eps / C) sum_c w_c (lse - z_c)

    and ``"mean"`` divides the sum over the rows by ``sum of w_t`` over the rows not ignored
    (not by their count): a weighted average of the rows' unweighted losses when eps = 0.

    Gradient of one row (p = softmax(z), W = sum_c w_c)::

        d loss / d z_j = p_j ((1 - eps) w_t + (eps / C) W) - (1 - eps) w_t [j == t] - (eps / C) w_j

    Without smoothing the row is w_t times the unweighted one, so the fused kernels of
    :class:`CrossEntropy` do the work, each row's upstream gradient scaled by w_t; with
    smoothing the weighted sum over classes needs the log-probabilities (numpy, vectorised).
    """

    def forward(
        self,
        logits,
        target=None,
        weight=None,
        ignore_index=-100,
        reduction="mean",
        label_smoothing=0.0,
    ):
        z = class_rows(logits)
        t = target.reshape(-1)
        dtype = logits.dtype
        self.in_shape, self.reduction, self.eps = logits.shape, reduction, label_smoothing
        self.valid = valid = t != ignore_index
        self.safe_t = np.where(valid, t, 0)
        self.weight = weight
        self.logits = logits  # backward_graph recomputes softmax from them: version-checked
        self.w_t = np.where(valid, weight[self.safe_t], 0).astype(dtype)  # w_t, 0 if ignored
        self.denom = self.w_t.sum(dtype=dtype)
        if label_smoothing == 0.0:
            self.z, self.t, self.ignore_index = z, t, ignore_index
            loss, self.state = kernels.cross_entropy_forward(z, t, ignore_index, 0.0)
            rows = loss * self.w_t
        else:
            self.logp = logp = log_softmax_rows(z)
            c = z.shape[1]
            with np.errstate(invalid="ignore"):
                nll = -logp[np.arange(z.shape[0]), self.safe_t] * self.w_t
                smooth = -(logp @ weight)
                rows = (1 - label_smoothing) * nll + (label_smoothing / c) * smooth
            rows = np.where(valid, rows, 0).astype(dtype, copy=False)
        return _reduce(rows, target.shape, reduction, self.denom, dtype)

    def backward(self, grad):
        n = self.valid.shape[0]
        dtype = self.w_t.dtype
        gr = _row_grads(grad, self.reduction, n, self.denom, dtype)
        with np.errstate(invalid="ignore", over="ignore"):
            gr_w = gr * self.w_t  # d loss / d (unweighted row loss) = w_t
        if self.eps == 0.0:
            if self.state is None:  # a second backward (retain_graph=True): recompute
                _, self.state = kernels.cross_entropy_forward(self.z, self.t, self.ignore_index)
            gz = kernels.cross_entropy_backward(self.state, gr_w)
            self.state = None  # the buffer is the gradient now
        else:
            eps, w = self.eps, self.weight
            c = w.shape[0]
            with np.errstate(invalid="ignore", over="ignore"):
                p = np.exp(self.logp)
                coef = (1 - eps) * gr_w + (eps / c) * w.sum() * gr
                gz = p * coef[:, None] - (eps / c) * (gr[:, None] * w)
                gz[np.arange(n), self.safe_t] -= (1 - eps) * gr_w
            gz = np.where(self.valid[:, None], gz, 0).astype(dtype, copy=False)
        return from_class_rows(gz, self.in_shape)

    def backward_graph(self, grad):
        # the gradient above as p * a - Q per row, softmax recomputed as an op from the logits
        # (so the second derivative comes out of it); a = (1 - eps) w_t + (eps / C) W and
        # Q = (1 - eps) w_t one_hot(t) + (eps / C) w are constants, the ignored rows 0
        eps, w = self.eps, self.weight
        c = w.shape[0]
        p = class_rows_tensor(self.inputs[0], self.in_shape).softmax(-1)
        dtype = self.w_t.dtype
        a = ((1 - eps) * self.w_t + (eps / c) * w.sum()).astype(dtype)[:, None]
        q = (
            _smoothed_one_hot(self.safe_t, self.valid, c, 0.0, dtype)
            * ((1 - eps) * self.w_t[:, None])
            + (eps / c) * w
        )
        per_row = (p * constant(a) - constant(q.astype(dtype))) * _row_shares(
            grad, self.reduction, float(self.denom)
        )
        return from_class_rows_tensor(Where.apply(self.valid[:, None], per_row, 0), self.in_shape)


class SoftTargetCrossEntropy(Function):
    """Cross-entropy against class probabilities (a float target of the logits' shape).

    ``SoftTargetCrossEntropy.apply(logits, target, weight=None, reduction=, label_smoothing=)``.
    As PyTorch defines it, per row (C classes, optional per-class weights w)::

        q'   = (1 - eps) q + eps / C          # smoothing mixes in the uniform distribution
        loss = -sum_c w_c q'_c log p_c        # p = softmax(z)

    and ``"mean"`` divides by the number of rows (weights or not).  The target need not sum to
    one, so the gradient keeps its sum::

        d loss / d z_j = p_j sum_c (w_c q'_c) - w_j q'_j
        d loss / d q_c = -(1 - eps) w_c log p_c        (the target is differentiable too)
    """

    #: the target is read only for the logits' gradient
    kept_only_for: ClassVar[dict[str, tuple[int, ...]]] = {"q": (0,), "target": (0,)}

    def forward(self, logits, target, weight=None, reduction="mean", label_smoothing=0.0):
        self.in_shape, self.reduction, self.eps, self.weight = (
            logits.shape,
            reduction,
            label_smoothing,
            weight,
        )
        self.q = class_rows(target)
        # backward_graph recomputes log_softmax from the logits and reads the target tensor:
        # both kept as they came, so that an in-place change of either is caught
        self.logits, self.target = logits, target
        self.logp = log_softmax_rows(class_rows(logits))
        with np.errstate(invalid="ignore"):
            rows = -(self._mixed() * self.logp).sum(axis=1)
        out_shape = logits.shape[:1] + logits.shape[2:] if logits.ndim > 1 else ()
        return _reduce(rows, out_shape, reduction, rows.shape[0], logits.dtype)

    def _mixed(self) -> np.ndarray:
        """w_c q'_c: the smoothed target, weighted."""
        eps, c = self.eps, self.q.shape[1]
        q = self.q if eps == 0.0 else (1 - eps) * self.q + eps / c
        return q if self.weight is None else q * self.weight

    def backward(self, grad):
        n = self.logp.shape[0]
        gr = _row_grads(grad, self.reduction, n, n, self.logp.dtype)[:, None]
        gz = gq = None
        with np.errstate(invalid="ignore", over="ignore"):
            if self.inputs[0] is not None:
                mixed = self._mixed()
                gz = (np.exp(self.logp) * mixed.sum(axis=1, keepdims=True) - mixed) * gr
                gz = from_class_rows(gz, self.in_shape)
            if self.inputs[1] is not None:
                w = 1.0 if self.weight is None else self.weight
                gq = from_class_rows(-(1 - self.eps) * w * self.logp * gr, self.in_shape)
        return gz, gq

    def backward_graph(self, grad):
        # both gradients above in Tensor ops: log_softmax recomputed as an op from the logits,
        # and the target itself when it requires grad (d^2 loss / dz dq is not zero)
        eps, c = self.eps, self.q.shape[1]
        gr = _row_shares(grad, self.reduction, self.q.shape[0])
        w = None if self.weight is None else constant(self.weight)
        if self.inputs[0] is not None:
            logp = class_rows_tensor(self.inputs[0], self.in_shape).log_softmax(-1)
        else:
            logp = constant(self.logp)
        if self.inputs[1] is not None:
            q = class_rows_tensor(self.inputs[1], self.in_shape)
        else:
            q = constant(self.q)
        mixed = q if eps == 0.0 else q * (1 - eps) + eps / c
        if w is not None:
            mixed = mixed * w
        gz = gq = None
        if self.inputs[0] is not None:
            gz = (logp.exp() * mixed.sum(dim=1, keepdim=True) - mixed) * gr
            gz = from_class_rows_tensor(gz, self.in_shape)
        if self.inputs[1] is not None:
            dq = logp * (-(1 - eps)) if w is None else logp * w * (-(1 - eps))
            gq = from_class_rows_tensor(dq * gr, self.in_shape)
        return gz, gq
