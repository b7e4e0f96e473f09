"""The compiled encoder: long texts through distinct chunks, and tiktoken's merge rule in numba.

Real text repeats itself: most of its chunks (" the", "self", "    ") occur many times.  So
``BPETokenizer`` encodes a long text in three steps (``encode_distinct``):

1. the distinct chunks: a :class:`~minigrad.tokenizers.fast.tables.ByteTable` gives each chunk
   the index of its distinct chunk (``tables.add_chunks``);
2. each distinct chunk's ids come from the chunk cache, or, for chunks not seen before, from
   one call of ``merge_chunks``: tiktoken's merge rule over a pair table and a heap, the same
   algorithm as ``merge.merge_heap`` (``CompiledMerger`` holds its tables);
3. ``gather_ids(which, offsets, flat)`` writes every chunk's ids into one int64 array.

Python touches each distinct chunk once; everything per chunk or per byte is compiled.  The
kernels release the GIL (``nogil=True``), so threads encoding different texts overlap there.  The
references are the plain Python paths (``BPETokenizer._encode_chunks``, ``merge.byte_pair_encode``);
tests check that all give tiktoken's ids, also as plain Python under ``NUMBA_DISABLE_JIT=1``.

What it leaves out: the split into chunks (``fast.pretokenize``) and the whole-chunk shortcut
(``BPETokenizer._merge_many`` applies it before calling ``merge_chunks``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numba
import numpy as np

from minigrad.tokenizers.fast.tables import (
    add_chunks,
    entry_bytes,
    int_table,
    lookup,
    new_byte_table,
    pair_key,
)


def encode_distinct(
    data: bytes,
    bounds: np.ndarray,
    cache: dict,
    merge_many: Callable[[list[bytes]], list[list[int]]],
    capacity: int,
    max_chunk: int,
    with_counts: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """The ids of every chunk ``data[bounds[j]:bounds[j + 1]]``, as one int64 array.

    Steps 1-3 of the module docstring: find the distinct chunks (numba), take each one's ids
    from ``cache`` (bytes -> ids) or, for the new ones, from a single ``merge_many`` call, then
    copy the ids out (numba).  ``cache`` is cleared when it would exceed ``capacity`` entries;
    chunks longer than ``max_chunk`` bytes are not cached.  With ``with_counts``, also return
    the number of ids of each chunk.
    """
    table, which = add_chunks(new_byte_table(), np.frombuffer(data, dtype=np.uint8), bounds)
    distinct = entry_bytes(table)
    per = [cache.get(piece) for piece in distinct]
    missing = [d for d, ids in enumerate(per) if ids is None]
    if missing:  # merge every new chunk in one call
        pieces = [distinct[d] for d in missing]
        if len(cache) + len(missing) >= capacity:
            cache.clear()
        for d, piece, ids in zip(missing, pieces, merge_many(pieces)):
            per[d] = ids
            if len(piece) <= max_chunk:
                cache[piece] = ids
    offsets = np.zeros(len(per) + 1, dtype=np.int64)
    np.cumsum([len(ids) for ids in per], out=offsets[1:])
    flat = np.fromiter(itertools.chain.from_iterable(per), dtype=np.int64, count=offsets[-1])
    ids_out = gather_ids(which, offsets, flat)
    if with_counts:
        return ids_out, np.diff(offsets)[which]
    return ids_out


def encode_texts(
    parts: list[tuple[bytes, np.ndarray]],
    cache: dict,
    merge_many: Callable[[list[bytes]], list[list[int]]],
    capacity: int,
    max_chunk: int,
) -> list[list[int]]:
    """``encode_distinct`` for a batch: the ids of each text, given as ``(data, bounds)``.

    The texts are glued into one: every text boundary stays a chunk boundary, so no chunk
    spans two texts, and one pass of the kernels serves the whole batch (a pass per short text
    would pay the per-call costs again and again).  Text i owns chunks ``first[i]:first[i+1]``.
    """
    shift = 0
    pieces = [np.zeros(1, dtype=np.int64)]
    first = np.zeros(len(parts) + 1, dtype=np.int64)
    for i, (data, bounds) in enumerate(parts):
        pieces.append(bounds[1:] + shift)
        shift += len(data)
        first[i + 1] = first[i] + len(bounds) - 1
    data = b"".join(data for data, _ in parts)
    ids, counts = encode_distinct(
        data, np.concatenate(pieces), cache, merge_many, capacity, max_chunk, with_counts=True
    )
    token_at = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=token_at[1:])
    cuts = token_at[first].tolist()
    flat = ids.tolist()
    return [flat[cuts[i] : cuts[i + 1]] for i in range(len(parts))]


@numba.njit(cache=True, nogil=True)
def gather_ids(which: np.ndarray, offsets: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """Concatenate ``flat[offsets[d]:offsets[d + 1]]`` for ``d`` in ``which``, as int64."""
    total = 0
    for j in range(which.shape[0]):
        d = which[j]
        total += offsets[d + 1] - offsets[d]
    out = np.empty(total, np.int64)
    p = 0
    for j in range(which.shape[0]):
        d = which[j]
        for k in range(offsets[d], offsets[d + 1]):
            out[p] = flat[k]
            p += 1
    return out


# ---- the merge rule in numba -----------------------------------------------------------------
# Pairs are looked up in a table built from every way of cutting every token into two tokens:
# pair_key(left id, right id) -> id of left+right.  "left+right is a token of rank r" is exactly
# "(left, right) -> r is in the table", so this is tiktoken's rule, not a variant.


@numba.njit(cache=True, inline="always")
def _sift_up(heap, i):
    item = heap[i]
    while i > 0:
        parent = (i - 1) >> 1
        if heap[parent] <= item:
            break
        heap[i] = heap[parent]
        i = parent
    heap[i] = item


@numba.njit(cache=True, inline="always")
def _sift_down(heap, size, i):
    item = heap[i]
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and heap[child + 1] < heap[child]:
            child += 1
        if heap[child] >= item:
            break
        heap[i] = heap[child]
        i = child
    heap[i] = item


@numba.njit(cache=True, nogil=True)
def merge_chunks(
    data: np.ndarray,
    starts: np.ndarray,
    stops: np.ndarray,
    byte_rank: np.ndarray,
    pair_keys: np.ndarray,
    pair_ids: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """tiktoken's merge rule on chunks ``data[starts[c]:stops[c]]``: ``(ids, offsets)``.

    The same algorithm as ``merge.merge_heap``: parts named by their start offset, a min-heap
    of ``rank << 32 | start`` (so popping the smallest value is "lowest rank, leftmost"), stale
    entries skipped on pop.  Chunk c's ids are ``ids[offsets[c]:offsets[c + 1]]``.
    """
    n_chunks = starts.shape[0]
    longest = 1
    total = 0
    for c in range(n_chunks):
        longest = max(longest, stops[c] - starts[c])
        total += stops[c] - starts[c]
    ids = np.empty(longest, np.int64)
    end = np.empty(longest, np.int64)
    prev = np.empty(longest, np.int64)
    heap = np.empty(3 * longest, np.int64)  # n-1 initial pairs + at most 2 per merge
    out = np.empty(total, np.int64)
    offsets = np.zeros(n_chunks + 1, np.int64)
    p = 0
    for c in range(n_chunks):
        base = starts[c]
        n = stops[c] - base
        for i in range(n):
            ids[i] = byte_rank[data[base + i]]
            end[i] = i + 1
            prev[i] = i - 1
        size = 0
        for i in range(n - 1):
            r = lookup(pair_keys, pair_ids, pair_key(ids[i], ids[i + 1]))
            if r >= 0:
                heap[size] = (r << 32) | i
                size += 1
        for i in range(size // 2 - 1, -1, -1):
            _sift_down(heap, size, i)
        while size > 0:
            top = heap[0]
            size -= 1
            heap[0] = heap[size]
            _sift_down(heap, size, 0)
            r = top >> 32
            s = top & 0xFFFFFFFF
            mid = end[s]
            if mid < 0 or mid >= n or lookup(pair_keys, pair_ids, pair_key(ids[s], ids[mid])) != r:
                continue  # stale
            stop = end[mid]
            end[s] = stop
            end[mid] = -1
            ids[s] = r
            if stop < n:
                prev[stop] = s
                rr = lookup(pair_keys, pair_ids, pair_key(r, ids[stop]))
                if rr >= 0:
                    heap[size] = (rr << 32) | s
                    size += 1
                    _sift_up(heap, size - 1)
            q = prev[s]
            if q >= 0:
                rr = lookup(pair_keys, pair_ids, pair_key(ids[q], r))
                if rr >= 0:
                    heap[size] = (rr << 32) | q
                    size += 1
                    _sift_up(heap, size - 1)
        s = 0
        while s < n:
            out[p] = ids[s]
            p += 1
            s = end[s]
        offsets[c + 1] = p
    return out[:p].copy(), offsets


class CompiledMerger:
    """tiktoken's merge rule for many chunks in one numba call (tables built once per vocabulary).

    >>> ranks = {bytes([i]): i for i in range(256)} | {b"aa": 256, b"aaa": 257, b"ab": 258}
    >>> CompiledMerger(ranks).encode_pieces([b"aaab", b"ab", b""])
    [[257, 98], [258], []]

    Building the pair table walks every cut of every token, so a tokenizer makes one lazily, the
    first time it meets a long chunk or a long text.
    """

    def __init__(self, ranks: dict[bytes, int]) -> None:
        keys: list[int] = []  # pair_key(left, right) of every cut of a token into two tokens
        merged: list[int] = []
        get = ranks.get
        for token, rank in ranks.items():
            for i in range(1, len(token)):
                a = get(token[:i])
                b = get(token[i:]) if a is not None else None
                if b is not None:
                    keys.append(a << 32 | b)
                    merged.append(rank)
        cap = 16
        while cap < 2 * len(keys):
            cap *= 2
        self.pair_table = int_table(
            np.array(keys, dtype=np.int64), np.array(merged, dtype=np.int64), len(keys), cap
        )
        self.byte_rank = np.array([ranks[bytes([b])] for b in range(256)], dtype=np.int64)

    def encode_pieces(self, pieces: list[bytes]) -> list[list[int]]:
        """The ids of each piece (no whole-piece shortcut: the caller does that)."""
        lengths = np.fromiter((len(p) for p in pieces), dtype=np.int64, count=len(pieces))
        stops = np.cumsum(lengths)
        starts = stops - lengths
        data = np.frombuffer(b"".join(pieces), dtype=np.uint8)
        ids, offsets = merge_chunks(data, starts, stops, self.byte_rank, *self.pair_table)
        flat = ids.tolist()
        off = offsets.tolist()
        return [flat[off[i] : off[i + 1]] for i in range(len(pieces))]
