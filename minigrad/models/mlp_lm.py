"""A next-token MLP language model (Bengio et al., 2003, in miniature).

It reads a window of ``context`` token ids and predicts the next one::

    ids (B, T)                                   T = context, e.g. ["the", "red", "cat"]
      --Embedding (sparse rows)-->  (B, T, d)    one learnable vector per id
      --reshape (concat)-------->   (B, T*d)     the window as one long vector
      --Linear, tanh------------>   (B, H)       a hidden layer
      --Linear------------------>   (B, V)       one score (logit) per vocabulary word
      --cross_entropy(logits, next id)           the loss that training lowers

The embedding is the only place where a token's identity enters the model, so everything the
model learns about a word must be written into that word's row of ``embed.weight``; words that
predict the same continuations are pushed towards the same rows.  That is what
``minigrad train`` measures.

The embedding uses ``sparse=True``: a batch touches only the rows of its ids, so the gradient
and the optimizer step cost nothing for the rows of words that did not occur.

What it leaves out: attention and any notion of order beyond the fixed window (the window
position of a vector is its slot in the concatenation); ``minigrad.models.TinyGPT`` (a separate
issue) adds those.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from minigrad.grad_mode import no_grad
from minigrad.nn import Embedding, Linear, Module
from minigrad.nn import functional as F
from minigrad.tensor import Tensor
from minigrad.validate import positive_int


@dataclass(frozen=True)
class MLPConfig:
    """The sizes of an :class:`MLPLanguageModel` (saved in checkpoints as JSON).

    ``embed_init_std`` scales the initial embedding rows (N(0, std^2)); small starting vectors
    let the directions that training writes dominate sooner.
    """

    vocab_size: int
    context: int = 4
    d_embed: int = 16
    d_hidden: int = 96
    embed_init_std: float = 0.3

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context", "d_embed", "d_hidden"):
            # stored as a Python int (frozen: hence object.__setattr__), so to_dict is JSON
            object.__setattr__(self, name, positive_int(getattr(self, name), f"MLPConfig.{name}"))
        if not self.embed_init_std > 0:
            raise ValueError(f"embed_init_std must be positive, got {self.embed_init_std!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """The state dict's keys and shapes, computed without allocating anything.

        A checkpoint loader compares these with a weights file's header before it builds the
        model, so a config that asks for a huge model is caught before the memory is taken.
        (A test checks them against a real model's ``state_dict()``.)
        """
        v, t, d, h = self.vocab_size, self.context, self.d_embed, self.d_hidden
        return {
            "embed.weight": (v, d),
            "hidden.weight": (h, t * d),
            "hidden.bias": (h,),
            "out.weight": (v, h),
            "out.bias": (v,),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MLPConfig:
        """Build from a dict; unknown keys are an error (they mean another model version)."""
        known = set(cls.__dataclass_fields__)
        extra = sorted(set(d) - known)
        if extra:
            raise ValueError(f"unknown MLPConfig fields {extra}; known fields: {sorted(known)}")
        return cls(**d)


class MLPLanguageModel(Module):
    """Embedding -> concat -> Linear -> tanh -> Linear: logits for the next token.

    >>> from minigrad import manual_seed
    >>> _ = manual_seed(0)
    >>> model = MLPLanguageModel(MLPConfig(vocab_size=10, context=3))
    >>> model(np.array([[1, 2, 3], [4, 5, 6]])).shape
    (2, 10)

    Parameters are created with minigrad's global generator, so call
    ``minigrad.manual_seed(n)`` first for a reproducible model.
    """

    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = Embedding(config.vocab_size, config.d_embed, sparse=True)
        with no_grad():
            self.embed.weight.data *= np.float32(config.embed_init_std)
        self.hidden = Linear(config.context * config.d_embed, config.d_hidden)
        self.out = Linear(config.d_hidden, config.vocab_size)

    def forward(self, ids: Any) -> Tensor:
        """``ids`` (B, context) int64 -> logits (B, vocab_size)."""
        ids = np.asarray(ids.data if isinstance(ids, Tensor) else ids)
        if ids.ndim != 2 or ids.shape[1] != self.config.context:
            raise ValueError(
                f"expected ids of shape (batch, {self.config.context}), got {ids.shape}"
            )
        x = self.embed(ids)  # (B, T, d): row lookup
        x = x.reshape(ids.shape[0], -1)  # (B, T*d): the window's vectors side by side
        h = self.hidden(x).tanh()  # (B, H)
        return self.out(h)  # (B, V)

    def loss(self, ids: Any, targets: Any) -> Tensor:
        """Mean cross-entropy of predicting ``targets`` (B,) from the windows ``ids``."""
        return F.cross_entropy(self(ids), targets)

    @property
    def embeddings(self) -> np.ndarray:
        """The embedding table (V, d): row i is token i's vector (shared, not a copy)."""
        return self.embed.weight.data

    def extra_repr(self) -> str:
        return f"context={self.config.context}"
