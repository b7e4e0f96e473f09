"""Causal multi-head attention: the op (``CausalAttention``) and its inference path.

For packed ``qkv`` of shape (B, T, 3d) (q, k and v side by side: the output of one Linear) and
``H`` heads of size ``hd = d / H``::

    q, k, v -> (B, H, T, hd)                        # reshape + transpose: heads become a batch dim
    S = q @ k^T / sqrt(hd)                          # (B, H, T, T) scores, one batched matmul
    S[i, j] = -inf for j > i                        # causal mask: no peeking at the future
    P = softmax(S, dim=-1)                          # stable: the row max is subtracted first
    O = P @ v                                       # (B, H, T, hd), heads merged into (B, T, d)

No Python loop runs over heads or positions: the heads are one more batch dimension of
``np.matmul``.  :class:`CausalAttention` is that computation as one differentiable op (its
backward is derived in its docstring); ``nn.CausalSelfAttention`` puts the ``qkv`` and output
projections around it.

For generation there is an inference-only path (numpy arrays, no graph) that keeps a
:class:`KVCache`: :func:`cached_attention` runs only the new positions and attends to the keys
and values stored for the earlier ones, with the same operations in the same order as the op.

Deliberately left out: padding masks, cross-attention, and flash-attention style tiling (T is
small here; the (B, H, T, T) scores fit in memory).
"""

from __future__ import annotations

import math

import numpy as np

from minigrad import kernels
from minigrad.autograd import Function
from minigrad.ops.elementwise import ApplyMask
from minigrad.ops.shape import Stack
from minigrad.validate import positive_int

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


def _softmax_rows_(s: np.ndarray) -> np.ndarray:
    """Softmax along the last axis, in place (the row max is subtracted first: no overflow).

    Every row must have at least one finite score; the causal mask never hides the diagonal.
    """
    s -= s.max(axis=-1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(axis=-1, keepdims=True)
    return s


class CausalAttention(Function):
    """``CausalAttention.apply(qkv, n_heads=H, attn_mask=None)``: (B, T, 3d) -> (B, T, d).

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
        # P = softmax(S * scale + causal mask), in place, one compiled pass per row while it is
        # in cache (kernels/softmax_rows.py; its numpy reference is scale, add the -inf bias,
        # _softmax_rows_); the masked entries come out as exact zeros
        p = kernels.causal_softmax_(s, float(scale))
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
        # softmax backward, in place: dS = P * (dP - rowsum(dP * P)) * scale (compiled, as above)
        kernels.causal_softmax_backward_(dp, p, float(self.scale))
        np.matmul(dp, k, out=out[0])  # dL/dq = dS k / sqrt(hd)
        np.matmul(dp.swapaxes(-1, -2), q, out=out[1])  # dL/dk = dS^T q / sqrt(hd)
        # (3, B, H, T, hd) -> (B, T, 3, H, hd) -> (B, T, 3d): the layout qkv came in
        return out.transpose(1, 3, 0, 2, 4).reshape(b, t, 3 * h * hd)

    def backward_graph(self, grad):
        # The formulas above in Tensor ops, with q, k, v and P recomputed from qkv as ops (the
        # saved arrays are constants): every one of them depends on qkv, and the second
        # derivative runs through all of those dependences.
        qkv = self.inputs[0]
        b, t, c3 = qkv.shape
        h = self.n_heads
        hd = c3 // 3 // h
        qkv5 = qkv.reshape(b, t, 3, h, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv5[0], qkv5[1], qkv5[2]
        p = ((q @ k.mT) * self.scale + _causal_bias(t, self.p.dtype)).softmax(-1)
        pm = p if self.mask is None else ApplyMask.apply(p, mask=self.mask)
        g = grad.reshape(b, t, h, hd).permute(0, 2, 1, 3)
        dv = pm.mT @ g  # dL/dv = (P M)^T G
        dp = g @ v.mT  # dL/d(P M) = G v^T
        if self.mask is not None:
            dp = ApplyMask.apply(dp, mask=self.mask)
        ds = p * (dp - (dp * p).sum(dim=-1, keepdim=True)) * self.scale
        dq, dk = ds @ k, ds.mT @ q
        out = Stack.apply(dq, dk, dv, dim=0)  # (3, B, H, T, hd), the layout of qkv5
        return out.permute(1, 3, 0, 2, 4).reshape(b, t, c3)


# --------------------------------------------------------------------------- incremental decoding
class KVCache:
    """Every layer's keys and values for the positions seen so far: the memory of generation.

    ``keys`` and ``values`` have shape (n_layers, B, H, max_length, hd).  Positions
    ``0..length-1`` hold data; the rest is room to grow.  A model's cached forward over t new
    tokens writes positions ``length..length+t-1`` in every layer, then advances ``length``.

    Why keeping them is valid: attention is causal, so in every layer position i depends only on
    tokens 0..i, and so do the key and value the layer computes there.  Appending a token changes
    nothing at earlier positions: their keys and values can be stored once and read by every
    later token, and a new token costs one position's work instead of the whole window's.  That
    holds while the sequence fits in the model's window.  Once the window slides, every position
    gets a new number (a new absolute position embedding) and the oldest tokens drop out of what
    the others see: every key and value changes, and the cache is no longer valid.

    The buffers are allocated once, at ``max_length``: appending writes t rows in place instead
    of growing (and copying) arrays at every step.

    >>> cache = KVCache(n_layers=2, batch_size=1, n_heads=4, head_dim=8, max_length=16)
    >>> cache.keys.shape, cache.length
    ((2, 1, 4, 16, 8), 0)
    """

    def __init__(
        self,
        n_layers: int,
        batch_size: int,
        n_heads: int,
        head_dim: int,
        max_length: int,
        dtype: np.dtype | type = np.float32,
    ) -> None:
        sizes = {"n_layers": n_layers, "batch_size": batch_size, "n_heads": n_heads,
                 "head_dim": head_dim, "max_length": max_length}  # fmt: skip
        n_layers, batch_size, n_heads, head_dim, max_length = (
            positive_int(value, f"KVCache {name}") for name, value in sizes.items()
        )
        dt = np.dtype(dtype)
        if dt.kind != "f":
            raise TypeError(f"KVCache dtype must be floating point, got {dt}")
        shape = (n_layers, batch_size, n_heads, max_length, head_dim)
        self.keys = np.zeros(shape, dt)
        self.values = np.zeros(shape, dt)
        self.length = 0

    @property
    def max_length(self) -> int:
        return self.keys.shape[3]

    def __repr__(self) -> str:
        n_layers, b, h, max_length, hd = self.keys.shape
        return (
            f"KVCache(n_layers={n_layers}, batch_size={b}, n_heads={h}, head_dim={hd}, "
            f"length={self.length}/{max_length}, dtype={self.keys.dtype})"
        )


def cached_attention(qkv: np.ndarray, cache: KVCache, layer: int, n_heads: int) -> np.ndarray:
    """Causal attention for t new positions that also see every position already in ``cache``.

    ``qkv`` (B, t, 3d) belongs to positions ``p0 .. p0 + t - 1``, where ``p0 = cache.length``.
    Their keys and values are written into layer ``layer`` of the cache at those positions;
    then each new query attends to the keys up to its own position::

        S = q @ K[:p0 + t]^T / sqrt(hd)      # (B, H, t, p0 + t): t query rows, not p0 + t
        S[i, j] = -inf for j > p0 + i        # causal mask: needed only when t > 1 (a prompt)
        O = softmax(S) @ V[:p0 + t]          # (B, H, t, hd), heads merged into (B, t, d)

    The rows are those of :class:`CausalAttention` over the whole sequence, computed by the
    same operations in the same order.  With an empty cache (a prompt) the shapes are the same
    too, and so is every bit.  For later tokens the matrix products have other shapes (one query
    row instead of T), and BLAS picks its kernel, so its order of summation, by shape: those
    rows agree with the full forward to float rounding, not bit for bit.

    ``cache.length`` is not advanced here: every layer writes the same positions, and the model
    advances it once, after the last layer.  Plain numpy, no autograd: inference only.
    """
    if qkv.ndim != 3 or qkv.shape[-1] % 3 or n_heads < 1 or (qkv.shape[-1] // 3) % n_heads:
        raise ValueError(
            f"cached_attention expects qkv of shape (B, t, 3 * d) with d divisible by n_heads "
            f"({n_heads}), got {qkv.shape}"
        )
    b, t, c3 = qkv.shape
    d = c3 // 3
    hd = d // n_heads
    n_layers, cb, ch, max_length, chd = cache.keys.shape
    if (cb, ch, chd) != (b, n_heads, hd) or cache.keys.dtype != qkv.dtype:
        raise ValueError(
            f"the KVCache holds (batch, heads, head_dim) = ({cb}, {ch}, {chd}) in "
            f"{cache.keys.dtype}, but this input needs ({b}, {n_heads}, {hd}) in {qkv.dtype}"
        )
    if not 0 <= layer < n_layers:
        raise IndexError(f"layer {layer} is out of range for a KVCache of {n_layers} layers")
    p0 = cache.length
    end = p0 + t
    if end > max_length:
        raise ValueError(
            f"the KVCache has room for {max_length} positions: it holds {p0}, and {t} more "
            f"would make {end}"
        )
    # (B, t, 3, H, hd) -> (3, B, H, t, hd): q, k, v with heads as a batch dimension
    qkv5 = qkv.reshape(b, t, 3, n_heads, hd).transpose(2, 0, 3, 1, 4)
    keys, values = cache.keys[layer], cache.values[layer]  # views: writes land in the cache
    keys[:, :, p0:end] = qkv5[1]
    values[:, :, p0:end] = qkv5[2]
    q = np.ascontiguousarray(qkv5[0])
    s = np.matmul(q, keys[:, :, :end].swapaxes(-1, -2))  # (B, H, t, end)
    scale = qkv.dtype.type(1.0 / math.sqrt(hd))
    if p0 == 0:  # the prompt: square scores, the op's own softmax (the same bits)
        p = kernels.causal_softmax_(s, float(scale))
    else:
        s *= scale
        if t > 1:  # query i sits at position p0 + i: it must not see keys after it
            s += np.triu(np.full((t, end), -np.inf, dtype=s.dtype), k=p0 + 1)
        p = _softmax_rows_(s)
    o = np.matmul(p, values[:, :, :end])  # (B, H, t, hd)
    return o.transpose(0, 2, 1, 3).reshape(b, t, d)
