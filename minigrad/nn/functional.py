"""Stateless building blocks: the functions the layers in ``minigrad.nn`` are made of.

Names and arguments follow ``torch.nn.functional``: ``embedding``, ``one_hot``, ``linear``,
``softmax``, ``log_softmax``, ``gelu``, ``dropout``, ``layer_norm``, ``cross_entropy``, plus
``causal_attention`` and ``linear_cross_entropy``.  Each takes tensors and returns a tensor; the
weights are arguments, not state.

Every function here is a thin wrapper: it checks what the user passed (one clear error, before
any graph node or compiled kernel sees it) and calls one op of ``minigrad.ops``, where the
forward and its gradient are written side by side.  The rules are written once: ids through
:mod:`minigrad.validate`, class targets and reductions for both cross-entropies in
:func:`class_targets` and :func:`check_reduction`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad import grad_mode
from minigrad.creation import generator
from minigrad.ops.attention import CausalAttention
from minigrad.ops.elementwise import ApplyMask
from minigrad.ops.embedding import EmbeddingLookup, EmbeddingLookupScaled
from minigrad.ops.linear import Affine
from minigrad.ops.loss import CHUNK_ELEMENTS, REDUCTIONS, CrossEntropy, LinearCrossEntropy
from minigrad.ops.normalization import NormalizeRows
from minigrad.tensor import Tensor
from minigrad.validate import check_ids_in_range, integer_ids

__all__ = [
    "causal_attention",
    "cross_entropy",
    "dropout",
    "embedding",
    "embedding_renorm_",
    "gelu",
    "layer_norm",
    "linear",
    "linear_cross_entropy",
    "log_softmax",
    "one_hot",
    "softmax",
]


def as_ids(ids: Any, what: str = "ids") -> np.ndarray:
    """Token ids as an integer ndarray (from an ndarray, a list, an int or an int Tensor)."""
    return integer_ids(ids.data if isinstance(ids, Tensor) else ids, what)


# --------------------------------------------------------------------------- embedding
def embedding(
    ids: Any,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Look up row ``ids[...]`` of ``weight`` (V x d): output shape ``ids.shape + (d,)``.

    Arguments in PyTorch's order.

    The same numbers as ``one_hot(ids, V) @ weight``, without multiplying by zeros.

    >>> E = Tensor(np.arange(6.0).reshape(3, 2))
    >>> embedding([2, 0, 2], E).data
    array([[4., 5.],
           [0., 1.],
           [4., 5.]])

    Backward: ``dL/dweight = one_hot(ids, V).T @ dL/dout``: each occurring row gets the sum of
    the upstream rows at its positions, every other row exactly 0.  ``sparse=True`` returns
    that as a :class:`~minigrad.sparse.RowSparseGrad` (only the touched rows) instead of a
    dense (V, d) array.  ``padding_idx`` is looked up normally but never gets gradient.
    ``scale_grad_by_freq=True`` divides each row's gradient by how often its id occurs in
    ``ids``.  ``max_norm``: before the lookup, each looked-up row whose ``norm_type``-norm
    exceeds it is scaled down to that norm **in place in** ``weight`` (under ``no_grad``, as
    PyTorch's ``embedding_renorm_``; see :func:`embedding_renorm_`).

    Raises ``TypeError`` for non-integer ids, ``IndexError`` for an id outside ``0..V-1``.
    """
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError(
            f"embedding weight must be a 2-D Tensor (V, d), got {getattr(weight, 'shape', weight)}"
        )
    arr = as_ids(ids, "embedding ids")
    num = weight.shape[0]
    check_ids_in_range(arr, num, "embedding id", bound=f"num_embeddings={num}")
    if padding_idx is not None:
        padding_idx = check_padding_idx(padding_idx, num)
    if max_norm is not None:
        embedding_renorm_(weight, arr, max_norm, norm_type)
    op = EmbeddingLookupScaled if scale_grad_by_freq else EmbeddingLookup
    return op.apply(weight, ids=arr, padding_idx=padding_idx, sparse=sparse)


def embedding_renorm_(weight: Tensor, ids: Any, max_norm: float, norm_type: float = 2.0) -> Tensor:
    """Scale each row of ``weight`` named in ``ids`` whose p-norm exceeds ``max_norm`` down to
    ``max_norm``, in place; returns ``weight``.  PyTorch's ``embedding_renorm_``.

    A row r with ``norm = ||weight[r]||_p > max_norm`` becomes ``weight[r] * max_norm / (norm +
    1e-7)`` (the 1e-7 as in PyTorch); other rows, and rows not in ``ids``, are left as they are.
    The change is not recorded (``no_grad``), but it is an in-place change: the weight's version
    goes up, so a graph that kept the weight before can no longer be differentiated.

    >>> W = Tensor([[3.0, 4.0], [0.3, 0.4]])
    >>> embedding_renorm_(W, [0, 1, 0], max_norm=1.0).data.round(4)
    array([[0.6, 0.8],
           [0.3, 0.4]], dtype=float32)
    """
    max_norm = float(max_norm)
    if not max_norm >= 0.0:
        raise ValueError(f"max_norm must be a number >= 0, got {max_norm}")
    p = float(norm_type)
    if np.isnan(p):
        raise ValueError(f"norm_type must be a number, got {norm_type}")
    rows = np.unique(as_ids(ids, "embedding ids"))  # each row once, however often it occurs
    data = weight.data
    with np.errstate(over="ignore", invalid="ignore"):
        norms = np.linalg.norm(data[rows], ord=p, axis=1).astype(np.float64)
    big = rows[norms > max_norm]
    if big.size:
        scale = max_norm / (norms[norms > max_norm] + 1e-7)
        data[big] *= scale.astype(data.dtype)[:, None]
    weight._version[0] += (
        1  # in place, as every Tensor.xxx_ (PyTorch counts it even if no row changed)
    )
    return weight


def check_padding_idx(padding_idx: int, num_embeddings: int) -> int:
    """``padding_idx`` as a row in ``0..V-1`` (negative counts from the end, as in PyTorch)."""
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
    arr = as_ids(ids, "one_hot ids")
    if num_classes == -1:
        if arr.size == 0:
            raise ValueError("one_hot of an empty array needs an explicit num_classes")
        num_classes = int(arr.max()) + 1
    if num_classes < 1:
        raise ValueError(f"num_classes must be -1 or >= 1, got {num_classes}")
    check_ids_in_range(arr, num_classes, "one_hot id", bound=f"num_classes={num_classes}")
    out = np.zeros((arr.size, num_classes), dtype=np.int64)
    out[np.arange(arr.size), arr.reshape(-1)] = 1
    return Tensor._wrap(out.reshape(*arr.shape, num_classes))


# --------------------------------------------------------------------------- linear
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` for x of shape (..., in), weight (out, in), bias (out,).

    One op, :class:`~minigrad.ops.linear.Affine`, where the gradients are written out.

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
        return Affine.apply(x, weight)
    return Affine.apply(x, weight, bias)


# --------------------------------------------------------------------------- activations
def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim`` (computed stably, after subtracting the max)."""
    return (x if isinstance(x, Tensor) else Tensor(x)).softmax(dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``: the log of softmax without ever taking log(0)."""
    return (x if isinstance(x, Tensor) else Tensor(x)).log_softmax(dim)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU, as ``torch.nn.functional.gelu``: exact ``x * Phi(x)`` or ``approximate="tanh"``.

    ``Phi`` is the standard normal CDF; the gradient is ``Phi(x) + x * phi(x)`` (product rule,
    ``phi`` the normal density).  The ops are ``GeluErf`` and ``GeluTanh`` in
    ``minigrad/ops/elementwise.py``.
    """
    if approximate == "none" and x.dtype.kind != "f":
        raise TypeError(f"gelu needs a floating point tensor, got dtype {x.dtype}")
    return x.gelu(approximate)  # (which rejects an unknown ``approximate``)


# --------------------------------------------------------------------------- dropout
def check_dropout_p(p: float) -> float:
    """``p`` as a float, or ``ValueError`` unless it is a probability in [0, 1]."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    return float(p)


def dropout_mask(shape: tuple[int, ...], p: float, dtype: np.dtype) -> np.ndarray:
    """``keep / (1 - p)`` with ``keep ~ Bernoulli(1 - p)``: the multiplier dropout applies.

    Drawn from minigrad's one random generator, so ``minigrad.manual_seed(n)`` makes a training
    run reproducible.  (The masks are not PyTorch's: the two libraries' generators differ.)
    """
    if p >= 1.0:
        return np.zeros(shape, dtype)
    keep = generator().random(shape, dtype=np.float32) >= p
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Functional dropout, as ``torch.nn.functional.dropout``; identity when not training.

    In training each element is zeroed with probability ``p`` and the rest are scaled by
    ``1 / (1 - p)``, which keeps every element's expected value: the next layer sees inputs of
    the same size in training and in evaluation.  Backward multiplies by the same mask.
    """
    p = check_dropout_p(p)
    if not training or p == 0.0:
        return x
    return ApplyMask.apply(x, mask=dropout_mask(x.shape, p, x.dtype))


# --------------------------------------------------------------------------- normalization
def layer_norm(
    x: Tensor,
    normalized_shape: Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Functional LayerNorm over the last ``len(normalized_shape)`` dimensions of ``x``.

    One op, :class:`~minigrad.ops.normalization.NormalizeRows`, where the backward is derived.

    >>> x = Tensor(np.array([[1.0, 2.0, 3.0]]))
    >>> np.round(layer_norm(x, (3,)).data, 4)       # mean 0, variance 1
    array([[-1.2247,  0.    ,  1.2247]])
    """
    if not isinstance(x, Tensor):
        x = Tensor(x)
    shape = tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or tuple(x.shape[-k:]) != shape:
        raise ValueError(
            f"layer_norm: the last dimensions of the input (shape {x.shape}) must equal "
            f"normalized_shape {shape}"
        )
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != shape:
            raise ValueError(f"layer_norm {name} must have shape {shape}, got {p.shape}")
    n = math.prod(shape)
    w, b = weight, bias
    if k > 1:  # the op sees rows of n numbers: flatten the parameters to match
        w = None if weight is None else weight.reshape(n)
        b = None if bias is None else bias.reshape(n)
    if w is None and b is None:
        return NormalizeRows.apply(x, n=n, eps=eps)
    if b is None:
        return NormalizeRows.apply(x, w, n=n, eps=eps)
    return NormalizeRows.apply(x, w, b, n=n, eps=eps)


# --------------------------------------------------------------------------- attention
def causal_attention(
    qkv: Tensor, n_heads: int, dropout_p: float = 0.0, training: bool = False
) -> Tensor:
    """Causal multi-head attention of packed ``qkv`` (B, T, 3d) -> (B, T, d), heads merged.

    ``dropout_p`` drops attention weights in training mode (as PyTorch's ``attn_dropout``).
    The op, and its backward, is :class:`~minigrad.ops.attention.CausalAttention`.
    """
    if qkv.ndim != 3 or qkv.shape[-1] % 3:
        raise ValueError(f"causal_attention expects qkv of shape (B, T, 3 * d), got {qkv.shape}")
    if qkv.dtype.kind != "f":
        raise TypeError(f"causal_attention needs floating point qkv, got dtype {qkv.dtype}")
    d = qkv.shape[-1] // 3
    if n_heads < 1 or d % n_heads:
        raise ValueError(f"d = {d} is not divisible by n_heads = {n_heads}")
    mask = None
    if training and dropout_p > 0.0:
        b, t = qkv.shape[:2]
        mask = dropout_mask((b, n_heads, t, t), dropout_p, qkv.dtype)
    return CausalAttention.apply(qkv, n_heads=n_heads, attn_mask=mask)


# --------------------------------------------------------------------------- cross-entropy
def check_reduction(reduction: str) -> None:
    """``ValueError`` unless ``reduction`` is ``"mean"``, ``"sum"`` or ``"none"``."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


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
    t = as_ids(target, f"{what} target")
    if t.shape != shape:
        raise ValueError(f"{what} target must have shape {shape} {shape_note}, got {t.shape}")
    check_ids_in_range(
        t, num_classes, f"{what} target", bound=f"{num_classes} classes", ignore_index=ignore_index
    )
    return t.astype(np.int64, copy=False)


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

    Fused: a single op (:class:`~minigrad.ops.loss.CrossEntropy`) whose backward is
    ``softmax(z) - q`` (times the reduction's weight); no one-hot matrix and no separate
    log-softmax graph node is ever built.

    Raises ``TypeError`` for non-integer targets (class-probability targets are not supported),
    ``ValueError`` for mismatched shapes or an unknown reduction, ``IndexError`` for a target
    outside ``0..C-1`` that is not ``ignore_index``.
    """
    if not isinstance(logits, Tensor):
        logits = Tensor(logits)
    if logits.dtype.kind != "f":
        raise TypeError(f"cross_entropy logits must be floating point, got dtype {logits.dtype}")
    check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    shape = logits.shape
    if len(shape) == 0:
        raise ValueError("cross_entropy logits need at least 1 dimension (the classes)")
    c = shape[0] if len(shape) == 1 else shape[1]
    if c == 0:
        raise ValueError(f"cross_entropy needs at least one class, got logits of shape {shape}")
    expected = () if len(shape) == 1 else (shape[0], *shape[2:])
    t = class_targets(
        target, expected, c, ignore_index, "cross_entropy", f"for logits of shape {shape}"
    )
    return CrossEntropy.apply(
        logits,
        target=t,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=float(label_smoothing),
    )


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
    ``reduction`` ("mean" over non-ignored rows, "sum", "none") as in :func:`cross_entropy`;
    the loss and the gradients for hidden, weight and bias equal that unfused path up to
    rounding.  The op, and why it computes its gradients in the forward, is
    :class:`~minigrad.ops.loss.LinearCrossEntropy`.

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
