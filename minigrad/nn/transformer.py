"""``TransformerBlock``: attention then an MLP, each behind a LayerNorm and around a residual.

Pre-norm, as GPT-2 and most models since::

    x = x + attn(ln1(x))          # positions exchange information
    x = x + mlp(ln2(x))           # each position thinks on its own: Linear(d, 4d), GELU, Linear

Why pre-norm: the residual path ``x -> x + ...`` carries the signal and its gradient through
every block untouched (the gradient of ``x + f(x)`` with respect to x is ``1 + f'(x)``), so deep
stacks train without warm-up tricks; the LayerNorms only condition what each branch sees.

State dict keys (match a PyTorch module with the same attributes): ``ln1.*``, ``attn.qkv.*``,
``attn.proj.*``, ``ln2.*``, ``mlp.0.*`` (d -> 4d), ``mlp.2.*`` (4d -> d); ``mlp.1`` is the GELU
and ``mlp.3`` the dropout, which have no weights.

``forward_cached`` is the same block for generation with a key/value cache: only the new
positions go through it, attention reads the earlier positions' keys and values from the cache
(LayerNorm and the MLP act on each position alone, so they need nothing from the past).
"""

from __future__ import annotations

from minigrad.grad_mode import no_grad
from minigrad.nn.activation import GELU
from minigrad.nn.attention import CausalSelfAttention
from minigrad.nn.container import Sequential
from minigrad.nn.dropout import Dropout
from minigrad.nn.layers import Linear
from minigrad.nn.module import Module
from minigrad.nn.normalization import LayerNorm
from minigrad.ops.attention import KVCache
from minigrad.tensor import Tensor


class TransformerBlock(Module):
    """One pre-norm transformer block over (B, T, d_model) inputs.

    >>> import numpy as np
    >>> blk = TransformerBlock(8, n_heads=2)
    >>> blk(Tensor(np.zeros((2, 3, 8), np.float32))).shape
    (2, 3, 8)
    """

    def __init__(
        self, d_model: int, n_heads: int, dropout: float = 0.0, mlp_ratio: int = 4
    ) -> None:
        super().__init__()
        if mlp_ratio < 1:
            raise ValueError(f"mlp_ratio must be >= 1, got {mlp_ratio}")
        self.ln1 = LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_heads, dropout=dropout)
        self.ln2 = LayerNorm(d_model)
        self.mlp = Sequential(
            Linear(d_model, mlp_ratio * d_model),
            GELU(),
            Linear(mlp_ratio * d_model, d_model),
            Dropout(dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))

    @no_grad()
    def forward_cached(self, x: Tensor, cache: KVCache, layer: int) -> Tensor:
        """The block for new positions only, with layer ``layer`` of ``cache`` (eval mode only).

        See :meth:`CausalSelfAttention.forward_cached`, which raises in training mode.
        """
        x = x + self.attn.forward_cached(self.ln1(x), cache, layer)
        return x + self.mlp(self.ln2(x))
