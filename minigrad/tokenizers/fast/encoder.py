"""tiktoken's merge rule in numba, for many chunks in one call (``CompiledMerger``).

``merge_chunks`` joins, within each chunk, the adjacent pair of lowest rank (leftmost on a tie)
until no pair is a token: tiktoken's rule, run over a pair table and a heap in O(n log n), the
same algorithm as ``merge.merge_heap``.  ``BPETokenizer`` uses it for long chunks (where the
simple quadratic loop would be slow), and ``fast.chunk_encoder`` for chunks longer than its
short-merge limit.  The kernel releases the GIL (``nogil=True``).  The references are
``merge.byte_pair_encode`` and ``merge.merge_heap``; tests check all against tiktoken, also as
plain Python under ``NUMBA_DISABLE_JIT=1``.

What it leaves out: the split into chunks (``fast.pretokenize``), the whole-chunk shortcut (the
callers apply it) and the pre-token cache (``fast.chunk_encoder``).
"""

from __future__ import annotations

import numba
import numpy as np

from minigrad.tokenizers.fast.tables import int_table, lookup, pair_key

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
