"""The two models ``minigrad train`` can drive, behind three small functions.

* ``mlp`` (:class:`~minigrad.models.MLPLanguageModel`): reads a window of ``context`` ids and
  predicts the one id that follows: targets are (B,).
* ``transformer`` (:class:`~minigrad.models.TinyGPT`): reads the same window and predicts the
  next id at *every* position: targets are the window shifted by one, (B, T).

Both have one token-embedding table, which is what the meaning-emerges metric looks at.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.models import MLPConfig, MLPLanguageModel, TinyGPT
from minigrad.nn import Module
from minigrad.tensor import Tensor

MODELS = ("mlp", "transformer")


def build_model(kind: str, vocab_size: int, s: Any) -> Module:
    """A freshly initialised model (call ``minigrad.manual_seed`` first for reproducibility)."""
    if kind == "mlp":
        config = MLPConfig(vocab_size, context=s.context, d_embed=s.d_embed, d_hidden=s.d_hidden)
        return MLPLanguageModel(config)
    if kind == "transformer":
        return TinyGPT(
            vocab_size,
            context_length=s.context,
            d_model=s.d_embed,
            n_heads=s.n_heads,
            n_layers=s.n_layers,
            sparse_embeddings=True,
        )
    raise ValueError(f"unknown model {kind!r}; choose one of {MODELS}")


def batch_loss(model: Module, x: np.ndarray, y: np.ndarray) -> Tensor:
    """Mean next-token loss of windows ``x`` (B, T) whose following ids are ``y`` (B,)."""
    if isinstance(model, TinyGPT):
        # position t predicts id t+1: the window shifted left, with y as the last target
        targets = np.concatenate([x[:, 1:], y[:, None]], axis=1)
        return model.loss(x, targets)
    return model.loss(x, y)


def token_embeddings(model: Module) -> np.ndarray:
    """The (V, d) token-embedding table (shared with the model, not a copy)."""
    if isinstance(model, TinyGPT):
        return model.tok_emb.weight.data
    return model.embed.weight.data
