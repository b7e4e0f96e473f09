"""The cross-entropies of ``nn.functional``: ``cross_entropy`` and ``linear_cross_entropy``.

Thin wrappers, like the rest of ``nn.functional`` (which re-exports them): each checks what
the user passed (targets, weights, the reduction, with one set of rules for both losses in
:func:`class_targets` and :func:`check_reduction`) and calls one op of ``minigrad/ops/loss.py``:
``CrossEntropy`` (the fused kernels), ``WeightedCrossEntropy`` (``weight=``),
``SoftTargetCrossEntropy`` (class probabilities) or ``LinearCrossEntropy``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from minigrad import grad_mode
from minigrad.ops.loss import (
    CHUNK_ELEMENTS,
    REDUCTIONS,
    CrossEntropy,
    LinearCrossEntropy,
    SoftTargetCrossEntropy,
    WeightedCrossEntropy,
)
from minigrad.tensor import Tensor
from minigrad.validate import check_ids_in_range, integer_ids

__all__ = ["cross_entropy", "legacy_reduction", "linear_cross_entropy"]


def check_reduction(reduction: str) -> None:
    """``ValueError`` unless ``reduction`` is ``"mean"``, ``"sum"`` or ``"none"``."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def legacy_reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """PyTorch's old ``size_average`` / ``reduce`` flags as a ``reduction`` (with its warning).

    Either flag given replaces ``reduction``: ``reduce=False`` is ``"none"``, else
    ``size_average=False`` is ``"sum"``, else ``"mean"`` (an unset flag counts as True).
    """
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    new = "none" if not reduce else "mean" if size_average else "sum"
    warnings.warn(
        f"size_average and reduce are deprecated (as in PyTorch): use reduction={new!r}",
        UserWarning,
        stacklevel=3,
    )
    return new


def class_targets(
    target: Any,
    shape: tuple[int, ...],
    num_classes: int,
    ignore_index: int,
    what: str,
    shape_note: str,
) -> np.ndarray:
    """Integer class ids of ``shape``, each in ``0..num_classes-1`` or ``ignore_index``, int64.

    The target rules of both cross-entropies (``what`` names the caller in the messages,
    ``shape_note`` says where ``shape`` comes from).  Raises ``TypeError`` for non-integer
    targets, ``ValueError`` for a wrong shape, ``IndexError`` for a class out of range.
    """
    t = integer_ids(target.data if isinstance(target, Tensor) else target, f"{what} target")
    if t.shape != shape:
        raise ValueError(f"{what} target must have shape {shape} {shape_note}, got {t.shape}")
    check_ids_in_range(
        t, num_classes, f"{what} target", bound=f"{num_classes} classes", ignore_index=ignore_index
    )
    return t.astype(np.int64, copy=False)


def class_weights(weight: Any, num_classes: int, dtype: np.dtype) -> np.ndarray | None:
    """``weight`` as a (C,) array of the logits' dtype (a copy), or None.

    Raises ``ValueError`` for another shape, or for a tensor that requires grad (the loss is
    not differentiated with respect to its weights; PyTorch refuses too), ``TypeError`` for
    weights that are not real numbers.
    """
    if weight is None:
        return None
    if isinstance(weight, Tensor):
        if weight.requires_grad and grad_mode.is_grad_enabled():
            raise ValueError(
                "cross_entropy computes no gradient for weight, which requires grad; pass "
                "weight.detach()"
            )
        weight = weight.data
    w = np.asarray(weight)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"cross_entropy weight must hold real numbers, got dtype {w.dtype}")
    if w.shape != (num_classes,):
        raise ValueError(
            f"cross_entropy weight needs one entry per class: shape ({num_classes},), got {w.shape}"
        )
    return np.array(w, dtype=dtype, copy=True)


def cross_entropy(
    logits: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy between ``logits`` and ``target``, as ``torch.nn.functional``.

    ``target`` is either integer class ids (shape: the logits' without the class axis) or
    class probabilities (a float tensor or array of the logits' own shape).  Per row (C logits
    ``z``, smoothing ``eps``, per-class ``weight`` w, 1 when not given)::

        class t:        loss = (1 - eps) w_t (lse - z_t) + (eps / C) sum_c w_c (lse - z_c)
        probabilities:  loss = -sum_c w_c q'_c log softmax(z)_c,   q' = (1 - eps) q + eps / C

    with ``lse = logsumexp(z)``; for eps = 0 and no weights the first is just ``lse - z_t``.
    Layouts: logits (N, C) with target (N,); (N, C, d1, d2, ...) with target (N, d1, d2, ...)
    (classes on axis 1, e.g. a sequence model's (B, V, T)); (C,) with a 0-d target.  The
    arguments, in order, are PyTorch's (``size_average`` and ``reduce`` are its deprecated
    spellings of ``reduction``).

    >>> cross_entropy(Tensor([[0.0, 0.0]]), [1]).item()   # log 2: a coin flip
    0.6931...

    What PyTorch users trip on (and minigrad does the same):

    * Rows whose target equals ``ignore_index`` contribute nothing, not to the sum, not to the
      smoothing term, and **not to the denominator** of ``"mean"``: the mean is over the rows
      that were not ignored, and with ``weight`` it is the sum divided by **the sum of the
      targets' weights** ``w_t`` (smoothing term included), not by the number of rows.
    * If every row is ignored, ``"mean"`` is 0 / 0 = **NaN** (``"sum"`` is 0).  The gradient is
      then all zeros.  An empty batch (N = 0) behaves the same way: NaN for mean, 0 for sum.
    * Label smoothing spreads ``eps`` over **all** C classes, the target included, so the
      target's weight is ``1 - eps + eps / C``.
    * Class probabilities: ``"mean"`` divides by the number of rows, weights or not; the
      target need not sum to 1, and it gets a gradient if it requires grad; ``ignore_index``
      is for class ids only (a value >= 0 raises, as in PyTorch).
    * NaN in a row's logits gives NaN (never a silently finite number); ``-inf`` logits are fine
      unless the target's own logit is ``-inf`` (then the loss is ``inf``).

    Fused: class ids without weights run the compiled kernels of
    :class:`~minigrad.ops.loss.CrossEntropy`, whose backward is ``softmax(z) - q`` (times the
    reduction's weight); no one-hot matrix and no separate log-softmax graph node is ever
    built.  Weights without smoothing run the same kernels (each row scaled by its ``w_t``);
    weights with smoothing and class probabilities run vectorised numpy
    (:class:`~minigrad.ops.loss.WeightedCrossEntropy`,
    :class:`~minigrad.ops.loss.SoftTargetCrossEntropy`).

    Raises ``TypeError`` for targets that are neither integer ids nor float probabilities,
    ``ValueError`` for mismatched shapes, weights or an unknown reduction, ``IndexError`` for a
    class outside ``0..C-1`` that is not ``ignore_index``.
    """
    if not isinstance(logits, Tensor):
        logits = Tensor(logits)
    if logits.dtype.kind != "f":
        raise TypeError(f"cross_entropy logits must be floating point, got dtype {logits.dtype}")
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    shape = logits.shape
    if len(shape) == 0:
        raise ValueError("cross_entropy logits need at least 1 dimension (the classes)")
    c = shape[0] if len(shape) == 1 else shape[1]
    if c == 0:
        raise ValueError(f"cross_entropy needs at least one class, got logits of shape {shape}")
    w = class_weights(weight, c, logits.dtype)
    eps = float(label_smoothing)
    t_arr = target.data if isinstance(target, Tensor) else np.asarray(target)
    if t_arr.shape == shape:
        return _probability_targets(logits, target, w, ignore_index, reduction, eps)
    if t_arr.dtype.kind == "f" and t_arr.ndim == len(shape):
        raise ValueError(
            f"cross_entropy: a float target of class probabilities must have the logits' shape "
            f"{shape} ({c} classes), got {t_arr.shape}"
        )
    expected = () if len(shape) == 1 else (shape[0], *shape[2:])
    note = f"for logits of shape {shape} (or the logits' own shape for class probabilities)"
    t = class_targets(target, expected, c, ignore_index, "cross_entropy", note)
    op = CrossEntropy if w is None else WeightedCrossEntropy
    params = {} if w is None else {"weight": w}
    return op.apply(
        logits,
        target=t,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=eps,
        **params,
    )


def _probability_targets(logits, target, weight, ignore_index, reduction, eps) -> Tensor:
    """``cross_entropy`` with a target of class probabilities (the logits' shape)."""
    if ignore_index >= 0:
        raise ValueError(
            f"cross_entropy: ignore_index ({ignore_index}) is for class-id targets only, and "
            f"this target has the logits' shape {logits.shape}: class probabilities"
        )
    if isinstance(target, Tensor):
        q = target if target.dtype == logits.dtype else target.to(logits.dtype)
    else:
        q = np.asarray(target)
    if q.dtype.kind != "f":
        raise TypeError(
            f"cross_entropy: a target of the logits' shape {logits.shape} holds class "
            f"probabilities and must be floating point, got dtype {q.dtype}"
        )
    if not isinstance(q, Tensor):
        q = np.array(q, dtype=logits.dtype, copy=True)  # owned: backward reads it
    return SoftTargetCrossEntropy.apply(
        logits, q, weight=weight, reduction=reduction, label_smoothing=eps
    )


def linear_cross_entropy(
    hidden: Tensor,
    weight: Tensor,
    target: Any,
    bias: Tensor | None = None,
    chunk_size: int | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    *,
    class_weight: Any = None,
    label_smoothing: float = 0.0,
) -> Tensor:
    """``cross_entropy(hidden @ weight.T + bias, target)`` without ever holding all the logits.

    ``hidden`` is (..., d), ``weight`` (V, d) as a ``Linear``'s, ``bias`` (V,) or None,
    ``target`` integer class ids of shape ``hidden.shape[:-1]``.  ``chunk_size`` rows are
    processed at a time (default: about 4M logits per chunk).  ``ignore_index`` and
    ``reduction`` ("mean" over non-ignored rows, "sum", "none") as in :func:`cross_entropy`;
    the loss and the gradients for hidden, weight and bias equal that unfused path up to
    rounding.  The op, and why it computes its gradients in the forward, is
    :class:`~minigrad.ops.loss.LinearCrossEntropy`.

    Not fused: per-class weights (``class_weight``, ``cross_entropy``'s ``weight=``), label
    smoothing and class-probability targets.  Passing the first two raises
    ``NotImplementedError`` (a float target raises ``TypeError``), naming the unfused
    spelling ``cross_entropy(linear(hidden, weight, bias), target, weight=..., ...)``, which
    supports them all.

    >>> h = Tensor(np.zeros((2, 3))); W = Tensor(np.ones((4, 3)))
    >>> round(linear_cross_entropy(h, W, [0, 3]).item(), 4)     # uniform over 4: log 4
    1.3863
    """
    if class_weight is not None or label_smoothing != 0.0:
        raise NotImplementedError(
            "linear_cross_entropy fuses plain class targets only: for class_weight= or "
            "label_smoothing= use cross_entropy(linear(hidden, weight, bias), target, "
            "weight=..., label_smoothing=...), which holds all the logits"
        )
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
    check_reduction(reduction)
    lead = hidden.shape[:-1]
    t = class_targets(
        target, lead, v, ignore_index, "linear_cross_entropy", "(hidden's leading dimensions)"
    )
    if chunk_size is None:
        chunk_size = max(1, CHUNK_ELEMENTS // max(v, 1))
    if (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, (int, np.integer))
        or (chunk_size < 1)
    ):
        raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}")

    h2 = hidden if hidden.ndim == 2 else hidden.reshape(-1, hidden.shape[-1])
    enabled = grad_mode.is_grad_enabled()
    need = tuple(
        bool(enabled and p is not None and p.requires_grad) for p in (hidden, weight, bias)
    )
    out = LinearCrossEntropy.apply(
        h2,
        weight,
        bias,
        target=t.reshape(-1),
        ignore_index=int(ignore_index),
        reduction=reduction,
        chunk_size=int(chunk_size),
        need=need,
    )
    if reduction == "none" and len(lead) != 1:
        out = out.reshape(lead)
    return out
