"""Multi-head causal self-attention: every position looks back at itself and the ones before it.

For an input ``x`` of shape (B, T, d) and ``H`` heads of size ``hd = d / H``::

    q, k, v = split(x @ W_qkv.T + b_qkv)           # three (B, T, d) tensors, one Linear
    q, k, v -> (B, H, T, hd)                        # reshape + transpose: heads become a batch dim
    S = q @ k^T / sqrt(hd)                          # (B, H, T, T) scores, one batched matmul
    S[i, j] = -inf for j > i                        # causal mask: no peeking at the future
    P = softmax(S, dim=-1)                          # stable: the row max is subtracted first
    O = P @ v                                       # (B, H, T, hd)
    y = merge_heads(O) @ W_proj.T + b_proj          # back to (B, T, d)

No Python loop runs over heads or positions: the heads are one more batch dimension of
``np.matmul``.  The middle part (from the ``qkv`` projection to the merged heads) is one fused
op, :class:`CausalAttentionFn`, whose backward is derived in its docstring; the two projections
are ordinary ``Linear`` layers named ``qkv`` and ``proj`` (a layout that maps one-to-one onto a
plain PyTorch module with ``nn.Linear(d, 3 * d)`` and ``nn.Linear(d, d)``).

Deliberately left out: a key/value cache for generation, padding masks, cross-attention, and
flash-attention style tiling (T is small here; the (B, H, T, T) scores fit in memory).
"""

from __future__ import annotations

import math

import numpy as np

from minigrad.autograd import Function
from minigrad.nn.dropout import _check_p, dropout, dropout_mask
from minigrad.nn.layers import Linear
from minigrad.nn.module import Module
from minigrad.tensor import Tensor

_MASKS: dict[tuple[int, str], np.ndarray] = {}


def _causal_bias(t: int, dtype: np.dtype) -> np.ndarray:
    """(T, T) array: 0 on and below the diagonal, -inf above it (added to the scores)."""
    key = (t, dtype.str)
    bias = _MASKS.get(key)
    if bias is None:
        bias = np.triu(np.full((t, t), -np.inf, dtype=dtype), k=1)
        bias.flags.writeable = False
        if len(_MASKS) < 64:  # a few context lengths are used over and over
            _MASKS[key] = bias
    return bias


class CausalAttentionFn(Function):
    """``CausalAttentionFn.apply(qkv, n_heads=H, attn_mask=None)``: (B, T, 3d) -> (B, T, d).

    ``qkv`` holds q, k and v side by side on the last axis (the output of one Linear).
    ``attn_mask`` is an optional dropout multiplier for the attention weights, shape (B, H, T, T).

    Backward, with ``G = dL/dO`` (per head) and ``M`` the dropout multiplier (1 without dropout):

        dL/dv = (P * M)^T @ G                       O = (P * M) @ v is a matmul
        dL/dP = (G @ v^T) * M
        dL/dS = P * (dL/dP - rowsum(dL/dP * P))     softmax's Jacobian: dP_i/dS_j = P_i (d_ij - P_j)
        dL/dq = dL/dS @ k / sqrt(hd)                S = q @ k^T / sqrt(hd) is a matmul too
        dL/dk = dL/dS^T @ q / sqrt(hd)

    The masked scores need no special case: their P is exactly 0, so their dL/dS is 0 and no
    gradient leaks from the future into the past.
    """

    def forward(self, qkv, n_heads=1, attn_mask=None):
        b, t, c3 = qkv.shape
        d = c3 // 3
        hd = d // n_heads
        # (B, T, 3, H, hd) -> (3, B, H, T, hd): q, k, v, each with heads as a batch dimension
        qkv5 = np.ascontiguousarray(qkv.reshape(b, t, 3, n_heads, hd).transpose(2, 0, 3, 1, 4))
        q, k, v = qkv5[0], qkv5[1], qkv5[2]
        scale = qkv.dtype.type(1.0 / math.sqrt(hd))
        s = np.matmul(q, k.swapaxes(-1, -2))  # (B, H, T, T)
        s *= scale
        s += _causal_bias(t, s.dtype)
        s -= s.max(axis=-1, keepdims=True)  # the diagonal is never masked: the max is finite
        np.exp(s, out=s)
        s /= s.sum(axis=-1, keepdims=True)
        p = s
        pm = p if attn_mask is None else p * attn_mask
        o = np.matmul(pm, v)  # (B, H, T, hd)
        self.qkv5, self.p, self.pm, self.mask, self.scale = qkv5, p, pm, attn_mask, scale
        self.n_heads = n_heads
        return o.transpose(0, 2, 1, 3).reshape(b, t, d)  # merge heads: (B, T, H, hd) -> (B, T, d)

    def backward(self, grad):
        q, k, v = self.qkv5[0], self.qkv5[1], self.qkv5[2]
        b, h, t, hd = q.shape
        p, pm = self.p, self.pm
        g = np.ascontiguousarray(grad.reshape(b, t, h, hd).transpose(0, 2, 1, 3))
        out = np.empty((3, b, h, t, hd), dtype=q.dtype)
        np.matmul(pm.swapaxes(-1, -2), g, out=out[2])  # dL/dv = (P M)^T G
        dp = np.matmul(g, v.swapaxes(-1, -2))  # dL/d(P M) = G v^T
        if self.mask is not None:
            dp *= self.mask
        # softmax backward, in place: dS = P * (dP - rowsum(dP * P))
        rowdot = np.einsum("bhij,bhij->bhi", dp, p)[..., None]
        dp -= rowdot
        dp *= p
        dp *= self.scale
        np.matmul(dp, k, out=out[0])  # dL/dq = dS k / sqrt(hd)
        np.matmul(dp.swapaxes(-1, -2), q, out=out[1])  # dL/dk = dS^T q / sqrt(hd)
        # (3, B, H, T, hd) -> (B, T, 3, H, hd) -> (B, T, 3d): the layout qkv came in
        return out.transpose(1, 3, 0, 2, 4).reshape(b, t, 3 * h * hd)


def causal_attention(
    qkv: Tensor, n_heads: int, dropout_p: float = 0.0, training: bool = False
) -> Tensor:
    """Causal multi-head attention of packed ``qkv`` (B, T, 3d) -> (B, T, d), heads merged.

    ``dropout_p`` drops attention weights in training mode (as PyTorch's ``attn_dropout``).
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
    return CausalAttentionFn.apply(qkv, n_heads=n_heads, attn_mask=mask)


class CausalSelfAttention(Module):
    """Multi-head causal self-attention over (B, T, d_model) inputs.

    Parameters (state dict keys as a PyTorch module with the same attributes):
    ``qkv.weight`` (3 d, d) and ``qkv.bias`` (3 d,), with rows ordered q, k, v and within each,
    head 0's hd rows first; ``proj.weight`` (d, d) and ``proj.bias`` (d,).

    >>> attn = CausalSelfAttention(8, n_heads=2)
    >>> attn(Tensor(np.zeros((1, 5, 8), np.float32))).shape
    (1, 5, 8)
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        if d_model < 1 or n_heads < 1 or d_model % n_heads:
            raise ValueError(
                f"d_model ({d_model}) must be a positive multiple of n_heads ({n_heads})"
            )
        self.d_model = int(d_model)
        self.n_heads = int(n_heads)
        self.dropout = _check_p(dropout)
        self.qkv = Linear(d_model, 3 * d_model, bias=bias)
        self.proj = Linear(d_model, d_model, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 3 or x.shape[-1] != self.d_model:
            raise ValueError(
                f"CausalSelfAttention expects input of shape (B, T, {self.d_model}), got {x.shape}"
            )
        y = causal_attention(self.qkv(x), self.n_heads, self.dropout, self.training)
        return dropout(self.proj(y), self.dropout, self.training)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, n_heads={self.n_heads}, dropout={self.dropout}"
