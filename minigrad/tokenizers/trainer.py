"""The fast byte-level BPE trainer: the same merges as the naive oracle, without recounting.

``train_bpe`` learns ``mergeable_ranks`` (token bytes → rank) from a corpus::

    >>> ranks = train_bpe("low lower lowest", 259, min_frequency=1)
    >>> [tok for tok, rank in sorted(ranks.items(), key=lambda kv: kv[1]) if rank >= 256]
    [b'lo', b'low', b' low']

The rules (counting without overlap, ties to the smallest ``(left id, right id)``, repeated bytes,
stopping) are those of ``naive_trainer``; read its docstring first.  This module gets the same
answer faster:

1. **Count distinct chunks once** (``count_chunk_bytes``).  Real text repeats its chunks many
   times over; each distinct chunk becomes a word, an array of byte ids, with its count.  For
   the built-in patterns the compiled scanner and a compiled table of byte strings do this
   without one Python string per chunk; custom patterns and ``None`` use ``regex`` and a
   ``Counter`` (``corpus.count_chunks``).
2. **Keep pair counts and an index pair → words**, so a merge touches only the words that hold
   the pair, and adds to the counts only what changed there (times the word's count).
3. **Pick the best pair from a max-heap with lazy revalidation**: entries are not updated when a
   count falls; a popped entry that disagrees with the current count is pushed back with it.

Steps 2-3 are the compiled merge loop (``fast.merge_loop``, which describes its tables): a merge
costs time in proportion to the length of the words that hold the pair, not to the corpus, long
runs of one token (``"=" * 1_000_000``) included.  Compared with Hugging Face's ``BpeTrainer``,
which has the same overall shape: counts are exact for runs (``"aaaaa"`` holds two (a, a), not
four) and 64-bit, and the loop is compiled as a whole.  It returns to Python after a bounded
amount of work (``WORK_PER_CALL``) only so that Ctrl-C can be handled (``fast.interrupt``).
``benchmarks/bench_bpe_train.py`` times it against ``BpeTrainer``.

Training is the two halves ``count_chunk_bytes`` and ``merge_counted``; ``counts.py`` exposes the
first as ``count_chunks`` (a mergeable ``ChunkCounts``) and ``BPETokenizer.train_from_counts``
runs the second on it, which is how ``tokenizers.dask`` counts on a cluster.

What it leaves out: threads (the merge loop is sequential, and so is the split), and a position
index inside words: a word that holds the merged pair is scanned once per merge, so with
``pattern=None`` (each document one long word) a merge costs a pass over the document.  Memory
follows the distinct chunks, not the corpus (files are streamed: see ``corpus``), nor
``vocab_size`` (``reachable_tokens``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from minigrad.tokenizers.corpus import (
    BLOCK_CHARS,
    EMPTY_CORPUS,
    check_train_args,
    count_chunks,
    iter_segments,
)
from minigrad.tokenizers.fast import merge_loop
from minigrad.tokenizers.fast.interrupt import deferred_sigint
from minigrad.tokenizers.fast.pretokenize import utf8_chunk_bounds
from minigrad.tokenizers.fast.tables import add_chunks, entry_bytes, new_byte_table
from minigrad.tokenizers.patterns import builtin_name, resolve_pattern

__all__ = ["count_chunk_bytes", "train_bpe"]

#: Work units (``fast.merge_loop.NWORK``: token positions visited, with table and heap
#: operations weighted by their cost) per call of the merge loop: a short stretch of compiled
#: work, after which Python gets control back and a Ctrl-C can be handled.  One merge is never
#: cut, so a call can run longer by one merge's work (a pass over the words that hold the pair).
WORK_PER_CALL = 1 << 20
#: at most this many merges per call while a progress bar is shown (so that it moves smoothly)
_PROGRESS_BATCH = 256
#: token ids are int32 inside the kernels
_MAX_TOKENS = 2**31 - 1
#: chunks per call of the counting kernel: a call stays short, so ``poll`` runs often
CHUNKS_PER_CALL = 1 << 20


def train_bpe(
    corpus: str | os.PathLike | Iterable[str | os.PathLike],
    vocab_size: int,
    *,
    pattern: str | None = "gpt4",
    special_tokens: Sequence[str] = (),
    min_frequency: int = 2,
    show_progress: bool = False,
) -> dict[bytes, int]:
    """Train byte-level BPE; return the mergeable ranks ``{token bytes: rank}``.

    Each merge takes the pair with the highest count (occurrences counted left to right without
    overlap); ties go to the smallest ``(left id, right id)``, ids being ranks, so the result does
    not depend on the order of documents or files, nor on the hash seed.  Identical to
    ``naive_trainer.train_naive`` on the same arguments.

    Args:
        corpus: a ``str`` (always the text itself, never a file name), an ``os.PathLike`` such
            as ``pathlib.Path`` (a UTF-8 file, streamed), or an iterable of those.  Each item is
            split on its own.
        vocab_size: the vocabulary including the special tokens; the ranks hold at most
            ``vocab_size - len(special_tokens)`` tokens (256 single bytes, then one per merge).
            An upper bound: any size is accepted, and training stops when the corpus has no
            pair left to merge (``vocab_size=10**9`` costs no more than the corpus needs).
        pattern: split pattern: a name from ``patterns.PATTERN_NAMES`` ("gpt2", "gpt4",
            "cl100k_base", "o200k_base", ...), a regex (a chunk is a whole match, capturing
            groups or not), or ``None`` (no split: each document is one chunk).
        special_tokens: strings cut out of the text before splitting; they take no part in
            training and get no rank here (the tokenizer gives them ids after the ranks).
        min_frequency: stop early when no pair occurs at least this often; then the ranks hold
            fewer tokens than asked for.
        show_progress: show a tqdm bar (merges done, merges per second).

    Raises:
        ValueError: ``vocab_size < 256 + len(special_tokens)``, an empty corpus, a file that is
            not UTF-8 (the message names it), an unknown pattern name or a malformed pattern.
        TypeError: a corpus item that is neither ``str`` nor ``os.PathLike``, a non-int size.
        KeyboardInterrupt: Ctrl-C, within a fraction of a second even mid-merge.

    Surrogates in ``str`` documents are replaced as encoding replaces them
    (``pretokenize.replace_surrogates``), so training sees the text that encoding will see.
    """
    specials = check_train_args(vocab_size, special_tokens, min_frequency)
    with deferred_sigint() as interrupt:
        arena, wstart, lengths, wcnt = count_chunk_bytes(
            corpus, pattern, specials, poll=interrupt.poll
        )
        return merge_counted(
            arena, wstart, lengths, wcnt, vocab_size - len(specials), min_frequency,
            show_progress, interrupt.poll,
        )  # fmt: skip


def merge_counted(
    arena: np.ndarray,
    wstart: np.ndarray,
    lengths: np.ndarray,
    wcnt: np.ndarray,
    n_ranks: int,
    min_frequency: int,
    show_progress: bool,
    poll: Callable[[], None],
) -> dict[bytes, int]:
    """The merge half of training: distinct chunks laid back to back in ``arena`` (the layout
    ``count_chunk_bytes`` returns) with their int64 counts in, ranks (at most ``n_ranks``) out.
    ``train_bpe`` and ``BPETokenizer.train_from_counts`` both end here."""
    max_tokens = reachable_tokens(n_ranks, lengths)
    if max_tokens == 256:
        return {bytes([i]): i for i in range(256)}
    state = merge_loop.new_state(
        arena.astype(np.int32), wstart, lengths.astype(np.int32), wcnt, max_tokens
    )
    poll()
    state = _merge_loop(state, max(min_frequency, 1), show_progress, poll)
    return {token: t for t, token in enumerate(entry_bytes(state.tokens))}


def count_chunk_bytes(
    corpus: str | os.PathLike | Iterable[str | os.PathLike],
    pattern: str | None,
    specials: tuple[str, ...],
    *,
    block_chars: int = BLOCK_CHARS,
    poll: Callable[[], None] | None = None,
    max_distinct: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(arena, start, length, count)``: the distinct chunks as byte slices of ``arena``, in
    order of first appearance, with their counts.  Same chunks and counts as ``count_chunks``:

    >>> arena, start, length, count = count_chunk_bytes("hi hi hi", "gpt4", ())
    >>> [(arena[s : s + n].tobytes(), int(c)) for s, n, c in zip(start, length, count)]
    [(b'hi', 1), (b' hi', 2)]

    The chunks lie back to back in the arena, which is the flat word layout the merge loop
    wants.  ``poll`` is called between kernel calls (the trainer's Ctrl-C check).

    ``max_distinct`` (built-in patterns only) bounds the table: whenever it holds more distinct
    chunks than that, only the ``max_distinct // 2`` most frequent are kept (``prune_table``),
    an approximation that ``counts.count_chunks`` documents.  ``None`` counts exactly.
    """
    source = resolve_pattern(pattern)
    name = builtin_name(source)
    if name is None:  # custom patterns and None: the regex path, encoded afterwards
        if max_distinct is not None:
            raise ValueError(
                "max_distinct needs a built-in pattern (the compiled counter); "
                f"got pattern={pattern!r}"
            )
        counts = count_chunks(corpus, pattern, specials, block_chars=block_chars, poll=poll)
        encoded = [c.encode("utf-8") for c in counts]  # surrogates were replaced upstream
        length = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        start = np.zeros(len(encoded), dtype=np.int64)
        np.cumsum(length[:-1], out=start[1:])
        arena = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        count = np.fromiter(counts.values(), dtype=np.int64, count=len(encoded))
        return arena, start, length, count
    table = new_byte_table()
    for seg in iter_segments(corpus, source, specials, block_chars):
        data, bounds = utf8_chunk_bounds(seg, name)
        buf = np.frombuffer(data, dtype=np.uint8)
        for j in range(0, len(bounds) - 1, CHUNKS_PER_CALL):
            table, _ = add_chunks(table, buf, bounds[j : j + CHUNKS_PER_CALL + 1])
            if max_distinct is not None and table.size[0] > max_distinct:
                table = prune_table(table, max(max_distinct // 2, 1))
            if poll is not None:
                poll()
    n = int(table.size[0])
    if n == 0:
        raise ValueError(EMPTY_CORPUS)
    return table.arena[: int(table.size[1])], table.start[:n], table.length[:n], table.count[:n]


def prune_table(table, keep: int):
    """A new table holding only the ``keep`` most frequent entries of ``table`` (ties to the
    earlier entry), in their old order, with their counts: the ``max_distinct`` step."""
    n = int(table.size[0])
    count = table.count[:n]
    order = np.argsort(-count, kind="stable")[:keep]
    chosen = np.sort(order)
    arena, start, length = table.arena, table.start[chosen], table.length[chosen]
    bounds = np.zeros(len(chosen) + 1, dtype=np.int64)
    np.cumsum(length, out=bounds[1:])
    flat = np.repeat(start - bounds[:-1], length) + np.arange(int(bounds[-1]), dtype=np.int64)
    new, _ = add_chunks(new_byte_table(len(chosen)), arena[flat], bounds)
    new.count[: len(chosen)] = count[chosen]
    return new


def reachable_tokens(requested: int, lengths: np.ndarray) -> int:
    """How many tokens (256 bytes + merges) training can end with: the request, or what the
    corpus can produce, whichever is smaller (the merge loop stops there, and a progress bar
    counts up to it).

    Every merge joins at least one pair inside a distinct chunk, shortening it by one token,
    and a chunk of ``n`` bytes can be shortened ``n - 1`` times, so no corpus yields more than
    ``256 + sum(n - 1)`` tokens.  Nothing is sized by ``vocab_size``: the token table grows
    with the tokens made, so ``vocab_size=10**9`` costs no more than the corpus needs.
    """
    bound = 256 + int(np.maximum(lengths - 1, 0).sum())
    tokens = min(requested, bound)
    if tokens > _MAX_TOKENS:
        raise ValueError(
            f"this corpus could produce {tokens:,} tokens, more than the trainer's 32-bit ids "
            f"hold ({_MAX_TOKENS:,}); ask for a smaller vocab_size"
        )
    return tokens


def _merge_loop(state, min_count: int, show_progress: bool, poll: Callable[[], None]):
    """Run the compiled merge loop in calls of ``WORK_PER_CALL`` work, polling for Ctrl-C."""
    max_merges = _PROGRESS_BATCH if show_progress else 1 << 62
    bar = None
    if show_progress:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=int(state.sc[merge_loop.MAX_TOKENS]) - 256, unit="merge", desc="BPE merges"
        )
    try:
        status = 2
        while status == 2:
            state, status = merge_loop.run_merges(state, min_count, max_merges, WORK_PER_CALL)
            poll()
            if bar is not None:
                bar.update(int(state.tokens.size[0]) - 256 - bar.n)
    finally:
        if bar is not None:
            bar.close()
    return state
