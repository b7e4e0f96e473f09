"""Chunk counts as a first-class object: count once, merge anywhere, train later.

BPE training is a map-reduce.  The *map* is counting: split the text into chunks (the split
pattern's matches) and count each distinct chunk.  It touches every byte of the corpus, so it is
most of the work on a large corpus, and it parallelises perfectly: counts of two halves of a
corpus add up to the counts of the whole, as long as the halves are cut where no chunk can span
the cut (between documents, or at a safe point: see ``corpus``).  The *reduce* is the merge
loop, which only ever sees the distinct chunks, a table far smaller than the corpus.

    >>> a = count_chunks("the cat")
    >>> b = count_chunks(["the dog", "the end"])
    >>> total = a + b
    >>> total["the"], total[b" cat"], total.total()
    (3, 1, 6)
    >>> sorted(total.items())[:2]
    [(b' cat', 1), (b' dog', 1)]

:class:`ChunkCounts` maps each distinct chunk (``bytes``) to an ``int64`` count.  Inside, the
chunks lie back to back in one ``uint8`` arena (the layout the merge loop takes), so adding two
tables, saving one and training from one never make a Python object per chunk.  It records the
split pattern it was counted with, and training from it with another pattern is refused: the
ranks would be learnt from chunks the tokenizer will never see.

Counts are 64-bit.  The *total* of all counts must fit in ``int64`` too (pair counts in the
merge loop are sums over chunks), and adding two tables whose total would not fit raises
``OverflowError`` instead of wrapping around.

Files: ``save``/``load`` use the compact binary format of ``counts_file`` (a header with magic,
version, pattern, sizes and a CRC-32; written atomically; an existing file is kept unless
``overwrite=True``).

What this module leaves out: reading files in parallel (``tokenizers.dask``), and the merge loop
(``trainer.merge_counted``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from minigrad.tokenizers.corpus import BLOCK_CHARS, check_train_args
from minigrad.tokenizers.patterns import builtin_name, resolve_pattern

__all__ = ["ChunkCounts", "count_chunks", "pattern_label"]

#: the largest count (and total of counts) a table holds
INT64_MAX = 2**63 - 1
#: chunks per call of the compiled table when merging (a call stays short: Ctrl-C works)
_PER_CALL = 1 << 20


def pattern_label(pattern: str | None) -> str | None:
    """How a table records its pattern: the canonical name of a built-in pattern, a custom
    regex as written, ``None`` for no split (checked and resolved first)."""
    source = resolve_pattern(pattern)
    return builtin_name(source) or source


def _check_total(count: np.ndarray) -> int:
    """The sum of ``count`` as a Python int, or ``OverflowError`` when it passes ``INT64_MAX``."""
    if len(count) == 0:
        return 0
    if int(count.max()) <= INT64_MAX // max(len(count), 1):
        total = int(count.sum())  # cannot wrap: every term is small enough
    else:
        total = sum(count.tolist())
    if total > INT64_MAX:
        raise OverflowError(
            f"the counts add up to {total:,}, more than int64 holds ({INT64_MAX:,}); "
            "the merge loop sums counts over chunks, so the total must fit"
        )
    return total


class ChunkCounts(Mapping):
    """Distinct chunks (``bytes``) -> occurrences (``int``), with the split pattern they came from.

    Build one with :func:`count_chunks`, :meth:`from_pairs` (any mapping or iterable of
    ``(chunk, count)``), ``a + b`` / :meth:`merge`, or :meth:`load`.  Keys may be looked up as
    ``bytes`` or ``str`` (encoded as UTF-8).  Iteration goes in order of first appearance;
    equality ignores order (two tables are equal when they map the same chunks to the same
    counts and record the same pattern).
    """

    __slots__ = ("_arena", "_count", "_index", "_length", "_pattern", "_start", "_total")

    def __init__(
        self,
        arena: np.ndarray,
        length: np.ndarray,
        count: np.ndarray,
        pattern: str | None,
        *,
        _checked: bool = False,
    ) -> None:
        """Wrap arrays: chunk ``i`` is the next ``length[i]`` bytes of ``arena``.  The arrays must
        hold distinct, non-empty chunks with positive counts; unless ``_checked``, that is
        verified (duplicates are added together, zero counts dropped)."""
        arena = np.ascontiguousarray(arena, dtype=np.uint8)
        length = np.ascontiguousarray(length, dtype=np.int64)
        count = np.ascontiguousarray(count, dtype=np.int64)
        if not _checked:
            if len(length) != len(count):
                raise ValueError(f"{len(length)} lengths but {len(count)} counts")
            if len(length) and int(length.min()) < 1:
                raise ValueError("a chunk is empty: every chunk must hold at least one byte")
            if int(length.sum()) != len(arena):
                raise ValueError(
                    f"the lengths add up to {int(length.sum())} bytes, the arena holds {len(arena)}"
                )
            if len(count) and int(count.min()) < 0:
                raise ValueError(f"counts must be >= 0, got {int(count.min())}")
            arena, length, count = _distinct(arena, length, count)
        self._arena, self._length, self._count = arena, length, count
        self._start = np.zeros(len(length), dtype=np.int64)
        np.cumsum(length[:-1], out=self._start[1:])
        self._pattern = pattern
        self._total = _check_total(count)
        self._index: dict[bytes, int] | None = None

    # ---- building ------------------------------------------------------------------------
    @classmethod
    def from_pairs(
        cls, pairs: Mapping[Any, Any] | Iterable[tuple[Any, Any]], pattern: str | None = "gpt4"
    ) -> ChunkCounts:
        """A table from a mapping or an iterable of ``(chunk, count)``; chunks are ``str`` or
        ``bytes`` (a ``str`` and its UTF-8 bytes are one chunk), counts non-negative ints.

        >>> ChunkCounts.from_pairs({"ab": 2, b"ab": 1, "c": 0})
        ChunkCounts(1 distinct chunks, 3 in all, pattern='gpt4')
        """
        if isinstance(pairs, ChunkCounts):
            return pairs
        if isinstance(pairs, (str, bytes)):
            raise TypeError(
                f"counts must be a mapping or an iterable of (chunk, count) pairs, not "
                f"{type(pairs).__name__}; count text with count_chunks(text)"
            )
        items = pairs.items() if isinstance(pairs, Mapping) else pairs
        try:
            items = iter(items)
        except TypeError:
            raise TypeError(
                f"counts must be a mapping or an iterable of (chunk, count) pairs, "
                f"got {type(pairs).__name__}"
            ) from None
        encoded: list[bytes] = []
        counts: list[int] = []
        for item in items:
            try:
                chunk, n = item
            except (TypeError, ValueError):
                raise TypeError(
                    f"each item must be a (chunk, count) pair, got {item!r:.80}"
                ) from None
            encoded.append(_chunk_bytes(chunk))
            counts.append(_count_int(n, chunk))
        length = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        arena = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        if counts and max(counts) > INT64_MAX:
            raise OverflowError(f"a count is larger than int64 holds: {max(counts):,}")
        count = np.fromiter(counts, dtype=np.int64, count=len(counts))
        return cls(arena, length, count, pattern_label(pattern))

    def merge(self, *others: ChunkCounts) -> ChunkCounts:
        """This table plus ``others`` (all with the same pattern): counts of a chunk add up."""
        tables = [self, *others]
        for t in others:
            if not isinstance(t, ChunkCounts):
                raise TypeError(f"can only merge ChunkCounts, got {type(t).__name__}")
            if t._pattern != self._pattern:
                raise ValueError(
                    f"cannot merge counts made with pattern {self._pattern!r} and "
                    f"{t._pattern!r}: their chunks are cut differently"
                )
        total = sum(t._total for t in tables)
        if total > INT64_MAX:
            raise OverflowError(
                f"the merged counts would add up to {total:,}, more than int64 holds"
            )
        if len(others) == 0:
            return self
        arena, length, count = _distinct(
            np.concatenate([t._arena for t in tables]),
            np.concatenate([t._length for t in tables]),
            np.concatenate([t._count for t in tables]),
        )
        return ChunkCounts(arena, length, count, self._pattern, _checked=True)

    def __add__(self, other: object) -> ChunkCounts:
        if not isinstance(other, ChunkCounts):
            return NotImplemented
        return self.merge(other)

    # ---- the mapping -----------------------------------------------------------------------
    def _lookup(self) -> dict[bytes, int]:
        if self._index is None:
            self._index = {c: i for i, c in enumerate(self)}
        return self._index

    def __getitem__(self, chunk: str | bytes) -> int:
        key = chunk.encode("utf-8", "surrogatepass") if isinstance(chunk, str) else chunk
        i = self._lookup().get(key) if isinstance(key, bytes) else None
        if i is None:
            raise KeyError(chunk)
        return int(self._count[i])

    def __contains__(self, chunk: object) -> bool:
        try:
            self[chunk]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[bytes]:
        data = self._arena.tobytes()
        for s, n in zip(self._start.tolist(), self._length.tolist()):
            yield data[s : s + n]

    def __len__(self) -> int:
        return len(self._count)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ChunkCounts):
            return self._pattern == other._pattern and dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def items(self) -> Iterator[tuple[bytes, int]]:  # type: ignore[override]
        """``(chunk, count)`` pairs in order of first appearance."""
        return zip(iter(self), self._count.tolist())

    def __repr__(self) -> str:
        return (
            f"ChunkCounts({len(self)} distinct chunks, {self._total} in all, "
            f"pattern={self._pattern!r})"
        )

    def __getstate__(self) -> tuple:
        return (self._arena, self._length, self._count, self._pattern)

    def __setstate__(self, state: tuple) -> None:
        arena, length, count, pattern = state
        ChunkCounts.__init__(self, arena, length, count, pattern, _checked=True)

    # ---- what training reads ---------------------------------------------------------------
    @property
    def pattern(self) -> str | None:
        """The split pattern the chunks came from (a built-in name, a regex, or ``None``)."""
        return self._pattern

    def total(self) -> int:
        """All occurrences counted (the sum of the counts)."""
        return self._total

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(arena, start, length, count)``: the chunks back to back, as the merge loop takes
        them.  The arrays are the table's own: do not change them."""
        return self._arena, self._start, self._length, self._count

    def nbytes(self) -> int:
        """Bytes held by the arrays (the chunks, their lengths, starts and counts)."""
        return self._arena.nbytes + 3 * 8 * len(self)

    # ---- files -----------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The table as a counts file's bytes (format: ``counts_file``)."""
        from minigrad.tokenizers.counts_file import encode_counts

        return encode_counts(self._pattern, self._arena, self._length, self._count)

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "<bytes>") -> ChunkCounts:
        """The table in a counts file's bytes; ``ValueError`` naming ``source`` if damaged."""
        from minigrad.tokenizers.counts_file import decode_counts

        pattern, arena, length, count = decode_counts(data, source)
        try:
            table = cls(arena, length, count, pattern)
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"{source}: not a valid chunk-counts file: {exc}") from None
        if len(table) != len(length):
            raise ValueError(
                f"{source}: not a valid chunk-counts file: it holds "
                f"{len(length) - len(table)} repeated chunk(s); each chunk is stored once"
            )
        return table

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        """Write the table to ``path`` (format: ``counts_file``), atomically; an existing file
        raises ``FileExistsError`` unless ``overwrite=True``."""
        from minigrad.tokenizers.counts_file import save_counts

        save_counts(self.to_bytes(), path, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ChunkCounts:
        """Read a table written by :meth:`save`; a damaged file raises ``ValueError``."""
        with open(path, "rb") as f:
            data = f.read()
        return cls.from_bytes(data, repr(os.fspath(path)))


def _chunk_bytes(chunk: object) -> bytes:
    if isinstance(chunk, str):
        try:
            data = chunk.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"chunk {chunk!r:.80} holds a surrogate, which UTF-8 cannot encode"
            ) from None
    elif isinstance(chunk, (bytes, bytearray, memoryview)):
        data = bytes(chunk)
    else:
        raise TypeError(f"a chunk must be str or bytes, got {type(chunk).__name__}: {chunk!r:.80}")
    if not data:
        raise ValueError("a chunk is empty: every chunk must hold at least one byte")
    return data


def _count_int(n: object, chunk: object) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"the count of {chunk!r:.60} must be an int, got {type(n).__name__}: {n!r}")
    if n < 0:
        raise ValueError(f"the count of {chunk!r:.60} must be >= 0, got {n}")
    return int(n)


def _distinct(
    arena: np.ndarray, length: np.ndarray, count: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chunks given back to back, maybe repeated: each distinct chunk once (first appearance
    order) with its counts added, and chunks counted 0 times dropped."""
    from minigrad.tokenizers.fast.tables import add_chunks, new_byte_table  # numba, lazily

    keep = count > 0
    if not keep.all():
        byte_keep = np.repeat(keep, length)
        arena, length, count = arena[byte_keep], length[keep], count[keep]
    bounds = np.zeros(len(length) + 1, dtype=np.int64)
    np.cumsum(length, out=bounds[1:])
    table = new_byte_table(max(len(length), 1))
    which = np.empty(len(length), dtype=np.int64)
    for j in range(0, len(length), _PER_CALL):
        table, which[j : j + _PER_CALL] = add_chunks(table, arena, bounds[j : j + _PER_CALL + 1])
    n = int(table.size[0])
    if n == len(length):
        return arena, length, count  # already distinct (the common case when counting)
    merged = np.zeros(n, dtype=np.int64)
    np.add.at(merged, which, count)  # the total was checked to fit, so no sum wraps
    return table.arena[: int(table.size[1])].copy(), table.length[:n].copy(), merged


def count_chunks(
    texts: str | os.PathLike | Iterable[str | os.PathLike],
    pattern: str | None = "gpt4",
    special_tokens: Sequence[str] = (),
    *,
    max_distinct: int | None = None,
    block_chars: int = BLOCK_CHARS,
) -> ChunkCounts:
    """Count the distinct chunks of ``texts``: the first half of ``BPETokenizer.train``.

    ``texts`` is what ``train`` takes: a ``str`` (the text itself), an ``os.PathLike`` (a UTF-8
    file, streamed in pieces cut at safe points), or an iterable of them, each split on its own.
    Special tokens are cut out first and never counted.  The counting is ``train``'s own
    (``trainer.count_chunk_bytes``: the compiled scanner for built-in patterns), so
    ``BPETokenizer.train_from_counts(count_chunks(t), ...)`` learns exactly what
    ``BPETokenizer.train(t, ...)`` learns.

    ``max_distinct`` bounds memory at the price of exactness: whenever the table holds more than
    ``max_distinct`` distinct chunks (checked after each piece of at most ``2**20`` chunks), it
    keeps only the ``max_distinct // 2`` most frequent.  A dropped chunk loses what it had
    counted, and starts again from zero if it comes back, so rare chunks are undercounted or
    missing.  Chunks that occur often all through the corpus survive with their exact counts
    (less at most the occurrences before their last drop), so the frequent merges come out the
    same; the rare ones at the end of a large vocabulary may differ.  ``None`` (the default)
    counts exactly.  Built-in patterns only.

    Raises ``ValueError`` for an empty corpus (no text outside special tokens), a file that is
    not UTF-8, a bad pattern, or a ``max_distinct`` below 2.
    """
    from minigrad.tokenizers.fast.interrupt import deferred_sigint
    from minigrad.tokenizers.trainer import count_chunk_bytes  # numba, lazily

    specials = check_train_args(256 + len(tuple(special_tokens)), special_tokens, 0)
    if max_distinct is not None:
        if isinstance(max_distinct, bool) or not isinstance(max_distinct, int):
            raise TypeError(f"max_distinct must be an int or None, got {max_distinct!r}")
        if max_distinct < 2:
            raise ValueError(f"max_distinct must be >= 2, got {max_distinct}")
    label = pattern_label(pattern)
    with deferred_sigint() as interrupt:
        arena, _, length, count = count_chunk_bytes(
            texts,
            pattern,
            specials,
            block_chars=block_chars,
            poll=interrupt.poll,
            max_distinct=max_distinct,
        )
    return ChunkCounts(arena.copy(), length.copy(), count.copy(), label, _checked=True)


def ranks_from_counts(
    counts: ChunkCounts | Mapping[Any, Any] | Iterable[tuple[Any, Any]],
    vocab_size: int,
    *,
    pattern: str | None,
    special_tokens: Sequence[str] = (),
    min_frequency: int = 2,
    show_progress: bool = False,
) -> dict[bytes, int]:
    """The merge half of training, from counts: ``BPETokenizer.train_from_counts`` documents it.

    A :class:`ChunkCounts` must have been counted with ``pattern`` (compared by regex source, so
    ``"cl100k_base"`` and ``"gpt4"`` agree); a plain mapping or iterable is taken as counted
    with it.  Same ranks as ``trainer.train_bpe`` on the text the counts came from.
    """
    from minigrad.tokenizers.fast.interrupt import deferred_sigint
    from minigrad.tokenizers.trainer import merge_counted  # numba, lazily

    specials = check_train_args(vocab_size, special_tokens, min_frequency)
    source = resolve_pattern(pattern)
    if isinstance(counts, ChunkCounts):
        if resolve_pattern(counts.pattern) != source:
            raise ValueError(
                f"these counts were made with pattern {counts.pattern!r}, not "
                f"{pattern_label(pattern)!r}: train with pattern={counts.pattern!r}, or count "
                "again with the pattern you want"
            )
        table = counts
    else:
        table = ChunkCounts.from_pairs(counts, pattern)
    if len(table) == 0:
        raise ValueError("the counts hold no chunk with a count above 0: nothing to train on")
    arena, start, length, count = table.arrays()
    with deferred_sigint() as interrupt:
        return merge_counted(
            arena, start, length, count, vocab_size - len(specials), min_frequency,
            show_progress, interrupt.poll,
        )  # fmt: skip
