"""``CausalSelfAttention``: multi-head causal self-attention as a layer with weights.

For an input ``x`` of shape (B, T, d)::

    qkv = x @ W_qkv.T + b_qkv                       # (B, T, 3d): q, k, v from one Linear
    y   = causal_attention(qkv, H) @ W_proj.T + b_proj

The middle part is one fused op, ``minigrad.ops.attention.CausalAttention`` (called through
``nn.functional.causal_attention``), where the math and its backward are written out; the two
projections are ordinary ``Linear`` layers named ``qkv`` and ``proj`` (a layout that maps
one-to-one onto a plain PyTorch module with ``nn.Linear(d, 3 * d)`` and ``nn.Linear(d, d)``).

For generation, :meth:`CausalSelfAttention.forward_cached` runs only the new positions against a
:class:`~minigrad.ops.attention.KVCache` (see :func:`~minigrad.ops.attention.cached_attention`).
"""

from __future__ import annotations

from minigrad.grad_mode import no_grad
from minigrad.nn import functional as F
from minigrad.nn.layers import Linear
from minigrad.nn.module import Module
from minigrad.ops.attention import KVCache, cached_attention
from minigrad.tensor import Tensor


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
        self.dropout = F.check_dropout_p(dropout)
        self.qkv = Linear(d_model, 3 * d_model, bias=bias)
        self.proj = Linear(d_model, d_model, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 3 or x.shape[-1] != self.d_model:
            raise ValueError(
                f"CausalSelfAttention expects input of shape (B, T, {self.d_model}), got {x.shape}"
            )
        y = F.causal_attention(self.qkv(x), self.n_heads, self.dropout, self.training)
        return F.dropout(self.proj(y), self.dropout, self.training)

    @no_grad()
    def forward_cached(self, x: Tensor, cache: KVCache, layer: int) -> Tensor:
        """``forward`` for new positions only, reading and extending ``cache`` (inference only).

        ``x`` (B, t, d) holds positions ``cache.length .. cache.length + t - 1``; the result is
        what ``forward`` over the whole sequence so far gives at those positions (to rounding:
        see :func:`~minigrad.ops.attention.cached_attention`).  Eval mode only, as there is no
        dropout on this path.
        """
        if self.training:
            raise RuntimeError(
                "forward_cached is inference-only (no dropout, no graph): call .eval() first"
            )
        if x.ndim != 3 or x.shape[-1] != self.d_model:
            raise ValueError(
                f"CausalSelfAttention expects input of shape (B, T, {self.d_model}), got {x.shape}"
            )
        y = cached_attention(self.qkv(x).data, cache, layer, self.n_heads)
        return self.proj(Tensor._wrap(y))

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, n_heads={self.n_heads}, dropout={self.dropout}"
