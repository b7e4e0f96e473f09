"""Stateless building blocks: the functions the layers in ``minigrad.nn`` are made of.

Names and arguments follow ``torch.nn.functional``: ``embedding``, ``one_hot``, ``linear``,
``softmax``, ``log_softmax``, ``gelu``, ``dropout``, ``layer_norm``, ``cross_entropy``, plus
``causal_attention`` and ``linear_cross_entropy``.  Each takes tensors and returns a tensor; the
weights are arguments, not state.

Every function here is a thin wrapper: it checks what the user passed (one clear error, before
any graph node or compiled kernel sees it) and calls one op of ``minigrad.ops``, where the
forward and its gradient are written side by side.  The rules are written once: ids through
:mod:`minigrad.validate`, class targets, weights and reductions for both cross-entropies in
``functional_loss.py`` (``class_targets``, ``class_weights``, ``check_reduction``), whose
functions this module re-exports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.creation import generator
from minigrad.nn.functional_loss import (
    check_reduction,
    class_targets,
    cross_entropy,
    linear_cross_entropy,
)
from minigrad.ops.attention import CausalAttention
from minigrad.ops.elementwise import ApplyMask
from minigrad.ops.embedding import EmbeddingLookup, EmbeddingLookupScaled
from minigrad.ops.linear import Affine
from minigrad.ops.normalization import NormalizeRows
from minigrad.tensor import Tensor
from minigrad.validate import check_ids_in_range, integer_ids

__all__ = [
    "causal_attention",
    "check_reduction",
    "class_targets",
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
# (the cross-entropies, and their rules for targets, weights and reductions, are in
# functional_loss.py; they are part of this module's API)
