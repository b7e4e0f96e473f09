"""Stateless building blocks: the functions the layers in ``nn.layers`` are made of.

Names and arguments follow ``torch.nn.functional``: ``embedding``, ``one_hot``, ``linear``,
``softmax``, ``log_softmax``, ``cross_entropy``.  Each takes tensors and returns a tensor; the
weights are arguments, not state.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd import Function
from minigrad.ops.embedding import EmbeddingLookup, check_ids
from minigrad.ops.loss import CrossEntropy
from minigrad.tensor import Tensor

__all__ = ["cross_entropy", "embedding", "linear", "log_softmax", "one_hot", "softmax"]


def as_ids(ids: Any, what: str = "ids") -> np.ndarray:
    """Token ids as an integer ndarray (from an ndarray, a list, an int or an int Tensor)."""
    arr = ids.data if isinstance(ids, Tensor) else ids
    if isinstance(arr, (list, tuple)) and len(arr) == 0:
        return np.zeros(0, dtype=np.int64)
    arr = np.asarray(arr)
    if arr.dtype.kind not in "iu":
        raise TypeError(
            f"{what} must be integers (int64 or int32), got dtype {arr.dtype}; "
            "float ids are almost always a bug"
        )
    return arr


# --------------------------------------------------------------------------- embedding
def embedding(
    ids: Any, weight: Tensor, padding_idx: int | None = None, sparse: bool = False
) -> Tensor:
    """Look up row ``ids[...]`` of ``weight`` (V x d): output shape ``ids.shape + (d,)``.

    The same numbers as ``one_hot(ids, V) @ weight``, without multiplying by zeros.

    >>> E = Tensor(np.arange(6.0).reshape(3, 2))
    >>> embedding([2, 0, 2], E).data
    array([[4., 5.],
           [0., 1.],
           [4., 5.]])

    Backward: ``dL/dweight = one_hot(ids, V).T @ dL/dout``: each occurring row gets the sum of
    the upstream rows at its positions, every other row exactly 0.  ``sparse=True`` returns
    that as a :class:`~minigrad.nn.sparse.RowSparseGrad` (only the touched rows) instead of a
    dense (V, d) array.  ``padding_idx`` is looked up normally but never gets gradient.

    Raises ``TypeError`` for non-integer ids, ``IndexError`` for an id outside ``0..V-1``.
    """
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError(
            f"embedding weight must be a 2-D Tensor (V, d), got {getattr(weight, 'shape', weight)}"
        )
    arr = as_ids(ids)
    num = weight.shape[0]
    check_ids(arr, num)
    if padding_idx is not None:
        padding_idx = _check_padding_idx(padding_idx, num)
    return EmbeddingLookup.apply(weight, ids=arr, padding_idx=padding_idx, sparse=sparse)


def _check_padding_idx(padding_idx: int, num_embeddings: int) -> int:
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(
            f"padding_idx must be within -{num_embeddings}..{num_embeddings - 1} "
            f"(num_embeddings={num_embeddings}), got {padding_idx}"
        )
    return padding_idx % num_embeddings


def one_hot(ids: Any, num_classes: int = -1) -> Tensor:
    """``ids.shape + (num_classes,)`` int64 tensor with a 1 at each id (``-1``: max id + 1).

    >>> one_hot([0, 2], 3).data
    array([[1, 0, 0],
           [0, 0, 1]])
    """
    arr = as_ids(ids)
    if num_classes == -1:
        if arr.size == 0:
            raise ValueError("one_hot of an empty array needs an explicit num_classes")
        num_classes = int(arr.max()) + 1
    if num_classes < 1:
        raise ValueError(f"num_classes must be -1 or >= 1, got {num_classes}")
    check_ids(arr, num_classes, what="one_hot", bound="num_classes")
    out = np.zeros((arr.size, num_classes), dtype=np.int64)
    out[np.arange(arr.size), arr.reshape(-1)] = 1
    return Tensor._wrap(out.reshape(*arr.shape, num_classes))


# --------------------------------------------------------------------------- linear
class LinearFn(Function):
    """``y = x @ W.T + b`` as one node, with x of any leading shape (..., in).

    Fused (one node instead of transpose, matmul and add) because it is the hot path of every
    MLP; the math is that of those three ops.
    """

    def forward(self, x, weight, bias=None):
        if x.shape[-1:] != weight.shape[1:]:
            raise ValueError(
                f"linear: input has {x.shape[-1] if x.ndim else 'no'} features (shape "
                f"{x.shape}) but the weight {weight.shape} expects {weight.shape[1]}"
            )
        self.x2 = x.reshape(-1, weight.shape[1])  # leading dims flattened: one matmul
        self.x_shape, self.weight = x.shape, weight
        out = self.x2 @ weight.T
        if bias is not None:
            out += bias
        return out.reshape(*x.shape[:-1], weight.shape[0])

    def backward(self, grad):
        g2 = grad.reshape(-1, self.weight.shape[0])
        gx = gw = gb = None
        if self.inputs[0] is not None:
            gx = (g2 @ self.weight).reshape(self.x_shape)  # dL/dx = G @ W
        if self.inputs[1] is not None:
            gw = g2.T @ self.x2  # dL/dW = G^T @ x: (out, in), summed over every row
        if len(self.inputs) == 2:  # called without a bias
            return gx, gw
        if self.inputs[2] is not None:
            gb = g2.sum(axis=0)  # dL/db = column sums of G (b was added to every row)
        return gx, gw, gb


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` for x of shape (..., in), weight (out, in), bias (out,).

    >>> x = Tensor([[1.0, 2.0]]); W = Tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> linear(x, W, Tensor([0.0, 0.0, 1.0])).data
    array([[1., 2., 4.]], dtype=float32)
    """
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if weight.ndim != 2:
        raise ValueError(f"linear weight must be 2-D (out, in), got shape {weight.shape}")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear bias must have shape ({weight.shape[0]},), got {bias.shape}")
    if bias is None:
        return LinearFn.apply(x, weight)
    return LinearFn.apply(x, weight, bias)


# --------------------------------------------------------------------------- softmax
def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim`` (computed stably, after subtracting the max)."""
    return (x if isinstance(x, Tensor) else Tensor(x)).softmax(dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``: the log of softmax without ever taking log(0)."""
    return (x if isinstance(x, Tensor) else Tensor(x)).log_softmax(dim)


# --------------------------------------------------------------------------- cross-entropy
_REDUCTIONS = ("mean", "sum", "none")


def cross_entropy(
    logits: Tensor,
    target: Any,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy between ``logits`` and integer class ``target``, as PyTorch.

    Per row (one vector of C logits ``z``, target class ``t``, smoothing ``eps``)::

        loss = -sum_c q_c * log_softmax(z)_c,    q = (1 - eps) * one_hot(t) + eps / C

    which for ``eps = 0`` is just ``logsumexp(z) - z_t``.  Layouts: logits (N, C) with target
    (N,); (N, C, d1, d2, ...) with target (N, d1, d2, ...) (classes on axis 1, e.g. a sequence
    model's (B, V, T)); (C,) with a 0-d target.

    >>> cross_entropy(Tensor([[0.0, 0.0]]), [1]).item()   # log 2: a coin flip
    0.6931...

    What PyTorch users trip on (and minigrad does the same):

    * Rows whose target equals ``ignore_index`` contribute nothing, not to the sum, not to the
      smoothing term, and **not to the denominator** of ``"mean"``: the mean is over the rows
      that were not ignored.
    * If every row is ignored, ``"mean"`` is 0 / 0 = **NaN** (``"sum"`` is 0).  The gradient is
      then all zeros.  An empty batch (N = 0) behaves the same way: NaN for mean, 0 for sum.
    * Label smoothing spreads ``eps`` over **all** C classes, the target included, so the
      target's weight is ``1 - eps + eps / C``.
    * NaN in a row's logits gives NaN (never a silently finite number); ``-inf`` logits are fine
      unless the target's own logit is ``-inf`` (then the loss is ``inf``).

    Fused: a single op whose backward is ``softmax(z) - q`` (times the reduction's weight); no
    one-hot matrix and no separate log-softmax graph node is ever built.

    Raises ``TypeError`` for non-integer targets (class-probability targets are not supported),
    ``ValueError`` for mismatched shapes or an unknown reduction, ``IndexError`` for a target
    outside ``0..C-1`` that is not ``ignore_index``.
    """
    if not isinstance(logits, Tensor):
        logits = Tensor(logits)
    if logits.dtype.kind != "f":
        raise TypeError(f"cross_entropy logits must be floating point, got dtype {logits.dtype}")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    t = as_ids(target, "cross_entropy target")
    shape = logits.shape
    if len(shape) == 0:
        raise ValueError("cross_entropy logits need at least 1 dimension (the classes)")
    expected = () if len(shape) == 1 else (shape[0], *shape[2:])
    if t.shape != expected:
        raise ValueError(
            f"cross_entropy target must have shape {expected} for logits of shape {shape}, "
            f"got {t.shape}"
        )
    c = shape[0] if len(shape) == 1 else shape[1]
    if c == 0:
        raise ValueError(f"cross_entropy needs at least one class, got logits of shape {shape}")
    bad = (t != ignore_index) & ((t < 0) | (t >= c))
    if bad.any():
        value = int(t[bad].flat[0])
        raise IndexError(
            f"cross_entropy target {value} is out of range for {c} classes "
            f"(valid targets are 0..{c - 1}, or ignore_index={ignore_index})"
        )
    return CrossEntropy.apply(
        logits,
        target=t.astype(np.int64, copy=False),
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=float(label_smoothing),
    )


# Functional forms of the transformer pieces live beside their modules; imported last because
# fused_linear_ce imports `as_ids` from this module.
from minigrad.nn.activation import gelu as gelu  # noqa: E402
from minigrad.nn.dropout import dropout as dropout  # noqa: E402
from minigrad.nn.fused_linear_ce import linear_cross_entropy as linear_cross_entropy  # noqa: E402
from minigrad.nn.normalization import layer_norm as layer_norm  # noqa: E402
