"""Refusing sizes that cannot fit in memory, before allocating, with what to lower.

``--batch-size 1000000000`` or ``--d-embed 10000000`` would otherwise end in a ``MemoryError``
traceback (or the kernel's OOM killer) after the corpus was read and tokenised, and
``--corpus /dev/zero`` would read forever.  Here each setting's memory is estimated from below
(the model's weights and Adam's two moments, one step's unavoidable activations, the corpus as
text and as ids), and only when even that lower bound exceeds the memory available is the run
refused, naming the flags to lower.  A lower bound never refuses a run that would have fit.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from minigrad.commands.common import CLIError

#: float32
_F = 4
#: UTF-8 bytes per sentence of the built-in corpus (measured: 34; rounded down)
SYNTHETIC_BYTES_PER_SENTENCE = 30


def available_memory() -> int | None:
    """Bytes this process can still get: ``MemAvailable``, or a cgroup limit if lower."""
    best: int | None = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                best = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        try:
            best = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            best = None
    try:  # cgroup v2 (containers, systemd services)
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
        if limit != "max":
            room = max(int(limit) - used, 0)
            best = room if best is None else min(best, room)
    except (OSError, ValueError):
        pass
    return best


def _gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e8 else f"{n / 1e6:,.0f} MB"


def parameter_count(s: Any, vocab_size: int) -> int:
    """The model's weights, counted from its sizes (nothing allocated, any size).

    The same count as summing ``parameter_shapes()`` of the model's config (a test checks),
    in closed form so that an absurd ``--n-layers`` costs nothing to count.
    """
    v, t, d = vocab_size, s.context, s.d_embed
    if s.model == "transformer":
        # per block: 2 LayerNorms (2d each), qkv (3d x d + 3d), proj (d x d + d),
        # MLP (4d x d + 4d, d x 4d + d)
        per_block = 12 * d * d + 13 * d
        return v * d + t * d + s.n_layers * per_block + 2 * d + v * d
    h = s.d_hidden
    return v * d + h * t * d + h + v * h + v


def step_bytes(s: Any, vocab_size: int) -> int:
    """A lower bound on one training step's memory beyond the weights."""
    b, t, d = s.batch_size, s.context, s.d_embed
    ids = 2 * b * t * 8  # the batch's windows and targets, int64
    if s.model == "transformer":
        # per layer at least: the block's input, attention weights (B, heads, T, T), MLP (4d)
        per_layer = b * t * d * 6 + b * s.n_heads * t * t
        return ids + _F * (s.n_layers * per_layer + b * t * d)
    # the gathered embeddings, the hidden layer, and the (B, V) logits and their gradient
    return ids + _F * (b * t * d + 2 * b * s.d_hidden + 2 * b * vocab_size)


#: the size flags a hint may name, and the smallest value each can take (see ``_smallest``)
SIZE_FLAGS = ("batch_size", "context", "d_embed", "d_hidden", "n_layers", "n_heads")


def _smallest(s: Any, name: str) -> Any:
    """``s`` with one size flag at its smallest valid value (d_embed must stay divisible)."""
    small = copy.copy(s)
    setattr(small, name, s.n_heads if name == "d_embed" and s.model == "transformer" else 1)
    return small


def training_bytes(s: Any, vocab_size: int) -> tuple[int, int]:
    """Lower bounds: (weights + Adam's two moments, one step's activations), in bytes."""
    return 3 * _F * parameter_count(s, vocab_size), step_bytes(s, vocab_size)


def check_training_fits(s: Any, vocab_size: int, available: int | None = None) -> None:
    """``CLIError`` naming the flags to lower if model + optimizer + a step cannot fit.

    The flags named are those that, lowered on their own, would make the run fit (the one
    that saves most first); if none would alone, the one that saves most.
    """
    available = available_memory() if available is None else available
    if available is None:
        return
    model, step = training_bytes(s, vocab_size)
    if model + step <= available:
        return
    relevant = [n for n in SIZE_FLAGS if n != ("d_hidden" if s.model == "transformer" else "")]
    relevant = [n for n in relevant if s.model == "transformer" or n not in ("n_layers", "n_heads")]
    after = {n: sum(training_bytes(_smallest(s, n), vocab_size)) for n in relevant}
    by_saving = sorted(relevant, key=after.__getitem__)  # the biggest saving first
    names = [n for n in by_saving if after[n] <= available] or by_saving[:1]
    flags = " or ".join(f"--{n.replace('_', '-')} (now {getattr(s, n):,})" for n in names)
    raise CLIError(
        f"these sizes do not fit in memory: they need at least {_gb(model + step)} (model and "
        f"optimizer state {_gb(model)}, one step {_gb(step)}) and {_gb(available)} is "
        f"available; lower {flags}"
    )


def check_corpus_fits(path: str, available: int | None = None) -> None:
    """``CLIError`` if ``--corpus`` is not a regular file, or cannot be held in memory."""
    p = Path(path)
    if p.exists() and not p.is_dir() and not p.is_file():
        raise CLIError(
            f"corpus file {path!r} is not a regular file (a device or a pipe has no end to "
            "read to); save the text to a file first"
        )
    if not p.is_file():
        return  # read_text_file reports a missing file or a folder
    available = available_memory() if available is None else available
    size = p.stat().st_size
    need = 2 * size  # the text itself, and at least one byte-sized copy while encoding
    if available is not None and need > available:
        raise CLIError(
            f"corpus file {path!r} is {_gb(size)}; reading and tokenising it needs at least "
            f"{_gb(need)} and {_gb(available)} is available: use a smaller file"
        )


def check_sentences_fit(sentences: int, available: int | None = None) -> None:
    """``CLIError`` if the built-in corpus of ``--sentences`` cannot be held in memory."""
    available = available_memory() if available is None else available
    need = sentences * SYNTHETIC_BYTES_PER_SENTENCE * 2  # the text, and its ids
    if available is not None and need > available:
        raise CLIError(
            f"--sentences {sentences:,} makes a corpus of at least {_gb(need)} and "
            f"{_gb(available)} is available: lower --sentences"
        )
