"""TinyGPT: a small decoder-only transformer language model (GPT-2's shape, in miniature).

::

    ids (B, T)
      --tok_emb + pos_emb-------->  (B, T, d)     what the token is + where it is
      --blocks[0..L-1]----------->  (B, T, d)     pre-norm attention + MLP, with residuals
      --ln_f--------------------->  (B, T, d)
      --head (d -> V, no bias)--->  logits (B, T, V), or straight into the loss:
      --linear_cross_entropy(hidden, head.weight, next ids)   (no (B, T, V) logits held)

State dict keys map one-to-one onto a PyTorch module with the same attributes:
``tok_emb.weight`` (V, d), ``pos_emb.weight`` (context, d), ``blocks.{i}.ln1.weight`` ...
(see ``nn.transformer``), ``ln_f.weight``/``bias`` and ``head.weight`` (V, d).

Weight tying (``tie_weights=True``, as GPT-2): ``head.weight`` *is* ``tok_emb.weight``.  The
one table then gets gradient from two places, and autograd adds them: the lookup gives rows
only for the ids in the batch (row-sparse with ``sparse_embeddings=True``), the output
projection gives every row (dense), and the engine's leaf accumulation turns sparse + dense
into one dense array.  Both keys appear in the state dict, as in PyTorch.

Dropout (``dropout > 0``) acts, as in nanoGPT, on the embeddings' sum, on the attention
weights, and on each residual branch before it is added back.

Generation keeps a key/value cache (``nn.attention.KVCache``): the prompt runs once, storing
every layer's keys and values, then each new token alone runs through the blocks and attends
to them (:meth:`TinyGPT.hidden_cached`), until the sequence outgrows ``context_length``.

Deliberately left out: GPT-2's scaled initialisation of residual projections (every layer
starts as PyTorch's default, so a torch model built the same way starts alike in distribution)
and a "rolling" cache that outlives a sliding window (it would compute something else than the
window: its kept keys and values were made while the dropped tokens were still visible).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from minigrad.creation import generator
from minigrad.grad_mode import no_grad
from minigrad.nn import functional as F
from minigrad.nn.container import ModuleList
from minigrad.nn.dropout import Dropout
from minigrad.nn.layers import Embedding, Linear
from minigrad.nn.module import Module
from minigrad.nn.normalization import LayerNorm
from minigrad.nn.transformer import TransformerBlock
from minigrad.ops.attention import KVCache
from minigrad.tensor import Tensor
from minigrad.validate import positive_int


@dataclass(frozen=True)
class TinyGPTConfig:
    """The sizes of a :class:`TinyGPT` (``asdict`` gives what a checkpoint stores)."""

    vocab_size: int
    context_length: int
    d_model: int
    n_heads: int
    n_layers: int
    tie_weights: bool = False
    dropout: float = 0.0
    sparse_embeddings: bool = False

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context_length", "d_model", "n_heads", "n_layers"):
            # stored as a Python int (frozen: hence object.__setattr__), so to_dict is JSON
            object.__setattr__(self, name, positive_int(getattr(self, name), f"TinyGPT {name}"))
        if self.d_model % self.n_heads:
            raise ValueError(
                f"TinyGPT d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"TinyGPT dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """The state dict's keys and shapes, computed without allocating anything.

        A checkpoint loader compares these with a weights file's header before it builds the
        model (see :meth:`MLPConfig.parameter_shapes`); a test checks them against a real model.
        The MLP inside each block is 4x wide (``TransformerBlock``'s default ``mlp_ratio``).
        """
        v, t, d = self.vocab_size, self.context_length, self.d_model
        shapes: dict[str, tuple[int, ...]] = {"tok_emb.weight": (v, d), "pos_emb.weight": (t, d)}
        for i in range(self.n_layers):
            b = f"blocks.{i}."
            shapes.update({
                b + "ln1.weight": (d,), b + "ln1.bias": (d,),
                b + "attn.qkv.weight": (3 * d, d), b + "attn.qkv.bias": (3 * d,),
                b + "attn.proj.weight": (d, d), b + "attn.proj.bias": (d,),
                b + "ln2.weight": (d,), b + "ln2.bias": (d,),
                b + "mlp.0.weight": (4 * d, d), b + "mlp.0.bias": (4 * d,),
                b + "mlp.2.weight": (d, 4 * d), b + "mlp.2.bias": (d,),
            })  # fmt: skip
        shapes.update({"ln_f.weight": (d,), "ln_f.bias": (d,), "head.weight": (v, d)})
        return shapes


class TinyGPT(Module):
    """A GPT-style language model: ``model(ids)`` gives logits, ``model.loss(ids, targets)``.

    ``ids`` are (B, T) int64 with T <= ``context_length``.  ``tie_weights=True`` shares the token
    table with the head.  ``sparse_embeddings=True`` makes the token table's gradient row-sparse
    (untied models only: tied, the head's dense part makes it dense); minigrad's optimizers then
    update just those rows, lazily (as ``torch.optim.SparseAdam``), which is not what PyTorch's
    dense AdamW does: leave it False to match PyTorch step for step.

    >>> import minigrad as mg
    >>> _ = mg.manual_seed(0)
    >>> m = TinyGPT(vocab_size=50, context_length=8, d_model=16, n_heads=2, n_layers=1)
    >>> m(np.zeros((2, 5), np.int64)).shape
    (2, 5, 50)
    >>> m.generate(np.array([1, 2]), max_new_tokens=3, seed=0).shape
    (5,)
    """

    def __init__(
        self,
        vocab_size: int,
        context_length: int,
        d_model: int,
        n_heads: int,
        n_layers: int,
        tie_weights: bool = False,
        dropout: float = 0.0,
        sparse_embeddings: bool = False,
    ) -> None:
        super().__init__()
        cfg = TinyGPTConfig(
            vocab_size, context_length, d_model, n_heads, n_layers, bool(tie_weights),
            float(dropout), bool(sparse_embeddings),
        )  # fmt: skip
        self.config = cfg
        self.tok_emb = Embedding(vocab_size, d_model, sparse=cfg.sparse_embeddings)
        self.pos_emb = Embedding(context_length, d_model)
        self.drop = Dropout(cfg.dropout)
        self.blocks = ModuleList(
            TransformerBlock(d_model, n_heads, dropout=cfg.dropout) for _ in range(n_layers)
        )
        self.ln_f = LayerNorm(d_model)
        self.head = Linear(d_model, vocab_size, bias=False)
        if cfg.tie_weights:
            self.head.weight = self.tok_emb.weight  # one Parameter, two uses

    @classmethod
    def from_config(cls, config: TinyGPTConfig | dict[str, Any]) -> TinyGPT:
        """Build from a :class:`TinyGPTConfig` or its ``to_dict()``."""
        cfg = config if isinstance(config, TinyGPTConfig) else TinyGPTConfig(**config)
        return cls(**cfg.to_dict())

    # ----------------------------------------------------------------- forward
    def _check_ids(self, ids: Any) -> np.ndarray:
        arr = F.as_ids(ids, "TinyGPT ids")
        if arr.ndim != 2:
            raise ValueError(f"TinyGPT ids must have shape (B, T), got {arr.shape}")
        t = arr.shape[1]
        if not 1 <= t <= self.config.context_length:
            raise ValueError(
                f"sequence length {t} must be within 1..context_length "
                f"({self.config.context_length})"
            )
        return arr

    def hidden(self, ids: Any) -> Tensor:
        """The final (B, T, d) hidden states, after ``ln_f``: what the head reads."""
        arr = self._check_ids(ids)
        pos = np.arange(arr.shape[1])
        x = self.drop(self.tok_emb(arr) + self.pos_emb(pos))
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)

    def forward(self, ids: Any) -> Tensor:
        """Logits (B, T, V) for every position (use :meth:`loss` for training: it is leaner)."""
        return self.head(self.hidden(ids))

    def loss(self, ids: Any, targets: Any, chunk_size: int | None = None) -> Tensor:
        """Mean next-token cross-entropy; ``targets`` (B, T), ``-100`` positions are ignored.

        Fused with the head (``nn.functional.linear_cross_entropy``): the (B, T, V) logits are
        never built.
        """
        return F.linear_cross_entropy(
            self.hidden(ids), self.head.weight, targets, chunk_size=chunk_size
        )

    def train_step(self, optimizer: Any, ids: Any, targets: Any) -> float:
        """One step: zero the gradients, loss, backward, ``optimizer.step()``; returns the loss."""
        optimizer.zero_grad()
        loss = self.loss(ids, targets)
        loss.backward()
        optimizer.step()
        return loss.item()

    # ----------------------------------------------------------------- cached inference
    def new_cache(self, batch_size: int = 1) -> KVCache:
        """An empty :class:`KVCache` for ``batch_size`` sequences of up to ``context_length``."""
        cfg = self.config
        return KVCache(
            cfg.n_layers, batch_size, cfg.n_heads, cfg.d_model // cfg.n_heads,
            cfg.context_length, self.tok_emb.weight.dtype,
        )  # fmt: skip

    @no_grad()
    def hidden_cached(self, ids: Any, cache: KVCache) -> np.ndarray:
        """:meth:`hidden` for new tokens only: ``ids`` (B, t) continue the sequence in ``cache``.

        The tokens take positions ``p0 = cache.length`` .. ``p0 + t - 1``; every layer attends
        to the cached keys and values of positions 0..p0-1 and appends those of the new ones,
        then ``cache.length`` becomes ``p0 + t``.  Returns the (B, t, d) final hidden states,
        equal (to float rounding) to ``hidden(whole sequence)[:, p0:]``.

        A prompt is one call with an empty cache ("prefill"); each later call with one token
        costs one position's work (plus attention over the p0 cached positions) instead of the
        whole sequence's.  Positions are absolute, so the sequence can grow only up to
        ``context_length``; past it, use :meth:`hidden` on the last ``context_length`` tokens.
        Inference only: eval mode, no graph, a numpy array out.

        >>> import minigrad as mg
        >>> _ = mg.manual_seed(0)
        >>> m = TinyGPT(vocab_size=50, context_length=8, d_model=16, n_heads=2, n_layers=1).eval()
        >>> cache = m.new_cache(batch_size=1)
        >>> m.hidden_cached(np.array([[1, 2, 3]]), cache).shape, cache.length
        ((1, 3, 16), 3)
        >>> m.hidden_cached(np.array([[4]]), cache).shape, cache.length
        ((1, 1, 16), 4)
        """
        if self.training:
            raise RuntimeError(
                "hidden_cached is inference-only (no dropout, no graph): call .eval() first"
            )
        if not isinstance(cache, KVCache):
            raise TypeError(f"cache must be a KVCache (see new_cache), got {type(cache).__name__}")
        arr = self._check_ids(ids)
        p0, t = cache.length, arr.shape[1]
        if p0 + t > self.config.context_length:
            raise ValueError(
                f"the cache holds {p0} positions and {t} more would make {p0 + t}, past "
                f"context_length ({self.config.context_length}): positions are absolute, so a "
                f"longer sequence needs a sliding window (recompute it with hidden())"
            )
        x = self.tok_emb(arr) + self.pos_emb(np.arange(p0, p0 + t))  # eval: no dropout
        for layer, block in enumerate(self.blocks):
            x = block.forward_cached(x, cache, layer)
        cache.length = p0 + t  # every layer now holds the new positions
        return self.ln_f(x).data

    # ----------------------------------------------------------------- sampling
    def generate(
        self,
        ids: Any,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        seed: int | None = None,
        use_cache: bool = True,
    ) -> np.ndarray:
        """Append ``max_new_tokens`` sampled tokens to ``ids`` ((T,) or (B, T)); returns int64.

        Each new token is drawn from ``softmax(logits / temperature)`` of the last position,
        restricted to the ``top_k`` most likely tokens if given; ``temperature=0`` picks the most
        likely token (greedy).  Only the last ``context_length`` tokens are read.  ``seed``
        makes the draw reproducible without touching minigrad's global generator (without it,
        the global generator is used).  Runs in eval mode and restores the previous mode.

        ``use_cache=True`` (the default) keeps a key/value cache: the prompt runs through the
        model once, then each step runs only the newest token (see :meth:`hidden_cached`).
        That lasts while the sequence fits in ``context_length``.  Once it is longer, the
        window slides: every position gets a new absolute position embedding and the oldest
        tokens drop out of what the others see, so no cached key or value is valid any more.
        From then on each step recomputes the whole window, exactly as ``use_cache=False``
        does from the start.  The two give the same tokens.  Their logits agree to float
        rounding, not bit for bit (a cached step's matrix products have one row, not T, and
        BLAS sums in another order), so a token could differ only where two choices tie to
        within that rounding (none did in 80,000 random small-model generations).
        """
        arr = ids.data if isinstance(ids, Tensor) else np.asarray(ids)
        if arr.dtype.kind not in "iu" or arr.ndim not in (1, 2) or arr.shape[-1] < 1:
            raise ValueError(
                f"generate needs integer ids of shape (T,) or (B, T) with T >= 1, got dtype "
                f"{arr.dtype} and shape {arr.shape}"
            )
        if int(max_new_tokens) < 0:
            raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
        if not temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        v = self.config.vocab_size
        if top_k is not None and not 1 <= top_k:
            raise ValueError(f"top_k must be >= 1 or None, got {top_k}")
        if not isinstance(use_cache, (bool, np.bool_)):
            raise TypeError(f"use_cache must be True or False, got {use_cache!r}")
        rng = np.random.default_rng(seed) if seed is not None else generator()
        out = arr.astype(np.int64).reshape(-1, arr.shape[-1])
        ctx = self.config.context_length
        cache = None
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                for _ in range(int(max_new_tokens)):
                    if use_cache and out.shape[1] <= ctx:
                        if cache is None:  # prefill: the whole prompt, once
                            cache = self.new_cache(out.shape[0])
                            h = self.hidden_cached(out, cache)[:, -1]
                        else:  # the cache holds every position but the newest token
                            h = self.hidden_cached(out[:, -1:], cache)[:, 0]
                    else:  # no cache, or past context_length: recompute the window
                        h = self.hidden(out[:, -ctx:]).data[:, -1]  # (B, d): the last position
                    logits = (h @ self.head.weight.data.T).astype(np.float64)
                    out = np.concatenate([out, _sample(logits, temperature, top_k, v, rng)], 1)
        finally:
            self.train(was_training)
        return out.reshape(-1) if arr.ndim == 1 else out


def _sample(
    logits: np.ndarray, temperature: float, top_k: int | None, v: int, rng: np.random.Generator
) -> np.ndarray:
    """One token id per row of (B, V) logits, as a (B, 1) int64 array."""
    if temperature == 0:
        return logits.argmax(axis=1)[:, None]
    z = logits / temperature
    if top_k is not None and top_k < v:
        kth = np.partition(z, v - top_k, axis=1)[:, v - top_k][:, None]
        z = np.where(z < kth, -np.inf, z)  # keep the top_k (ties at the k-th value all stay)
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    u = rng.random((p.shape[0], 1))
    # inverse-CDF sampling: the first id whose cumulative probability exceeds u
    idx = (np.cumsum(p, axis=1) < u).sum(axis=1)
    return np.minimum(idx, v - 1)[:, None].astype(np.int64)
