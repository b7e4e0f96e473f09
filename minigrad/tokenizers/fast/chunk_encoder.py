"""Bytes in, int32 ids out: the whole encode of a built-in pattern in compiled code.

``BPETokenizer`` hands this module the UTF-8 bytes of a text; it returns the ids as one int32
array.  Between the two, no Python object is made per chunk:

1. the compiled scanner (``fast.scanners``) writes the chunk bounds of a block of the text;
2. ``encode_block`` takes each chunk in turn and gets its ids from, in order,

   * a **pre-token cache** (chunk bytes -> ids): most chunks of real text repeat (``" the"``,
     ``"self"``, ``"    "``), so most chunks cost one hash probe and a copy;
   * the **token table** (bytes -> rank): a chunk that is a token is that token (tiktoken's
     shortcut, which is part of its rule, not only a speed-up);
   * the **merge**: tiktoken's rule (join the adjacent pair of lowest rank, leftmost on a tie)
     over the pair table (``pair_key(left, right) -> id of left+right``, see
     ``encoder.CompiledMerger``).  A short chunk uses tiktoken's own simple loop (quadratic in
     the chunk's length, and the fastest for the few bytes of most chunks); a chunk longer than
     ``SHORT_MERGE`` bytes goes to the O(n log n) heap merge (``encoder.merge_chunks``), so
     ``"a" * 1_000_000`` stays fast.

The cache is **bounded** by construction: ``CACHE_ENTRIES`` slots of 64 bytes (one cache line
each) in one fixed array, grouped in buckets of two; a chunk of at most ``CACHE_MAX_BYTES`` bytes
has one bucket, its key *is* its bytes (so a hit compares four words and reads no other memory),
and up to 12 ids are packed beside it.  A new chunk takes its bucket's first slot and pushes the
other one out (least recently used out: a hit in the second slot swaps the two), so the cache
never needs emptying, and a miss costs one merge.  Each thread gets its own cache
(``threading.local``), so the kernels share nothing writable and run without the GIL in
parallel (``fast.parallel``).  ``BPETokenizer.clear_cache`` empties them all.

A batch of short texts (``encode_many``) goes through ``encode_texts``: one compiled call for
up to ``MANY_BYTES`` of texts, so a thread releases and takes the GIL once per group, not twice
per text.

The token table is ``fast.token_table``; ``MergeTables`` holds what the merge reads.

The references: ``BPETokenizer._encode_chunks`` (plain Python) and tiktoken; the tests hold this
path to both, and run it as plain Python under ``NUMBA_DISABLE_JIT=1``.
"""

from __future__ import annotations

import threading
import weakref
from typing import NamedTuple

import numpy as np
from numba import njit

from minigrad.tokenizers.fast.encoder import CompiledMerger, merge_chunks
from minigrad.tokenizers.fast.scanners import SCANNERS, scan_gpt2, scan_gpt4, scan_o200k
from minigrad.tokenizers.fast.tables import mix, pair_key
from minigrad.tokenizers.fast.token_table import (
    build_token_map,
    chunk_keys,
    new_token_table,
    table_copy,
    table_find,
)
from minigrad.tokenizers.fast.unicode_table import class_table
from minigrad.tokenizers.patterns import canonical_name

#: Slots of each thread's pre-token cache (64 bytes each: 8 MiB per thread).
CACHE_ENTRIES = 1 << 17
#: Chunks longer than this many bytes are not cached (they rarely repeat; the key is the bytes).
CACHE_MAX_BYTES = 28
#: Chunks up to this many bytes use the simple quadratic merge; longer ones the heap merge.
SHORT_MERGE = 96
#: Chunk offsets per scanner call: bounds the scratch, and each kernel call stays short.
BLOCK = 1 << 16
#: Bytes of short texts after which ``encode_many`` closes a group for one compiled call (a
#: group stays under twice this); a longer text goes alone through ``encode``, block by block,
#: so that every kernel call stays short.
MANY_BYTES = 1 << 18
#: The scanners ``encode_texts`` can call, by the number it is given (its branches follow this
#: order).
SCAN_KINDS = ("gpt2", "gpt4", "o200k")

_jit = njit(cache=True, nogil=True)
_inline = njit(cache=True, nogil=True, inline="always")


class MergeTables(NamedTuple):
    """What the merge reads: each byte's id, the dense table of byte pairs (``byte_pairs[x <<
    8 | y]``: the id of bytes x + y, or -1), and the pair table twice: as (key, id) rows for
    the short merge, as two arrays for ``encoder.merge_chunks``."""

    byte_rank: np.ndarray  # int64[256]
    byte_pairs: np.ndarray  # int32[65536]
    pairs: np.ndarray  # int64 (slots, 2)
    pair_keys: np.ndarray  # int64 (slots,)
    pair_ids: np.ndarray  # int64 (slots,)


# ---- the pre-token cache: 2-way buckets of 64-byte slots, least recently used out -----------
# A slot is one cache line, eight int64s: four keys that *are* the chunk's bytes (7 per word,
# the length in k3's top byte), so equal keys mean equal chunks and a hit reads nothing else,
# then four words that pack up to 12 ids (``_pack``).  A chunk goes to one bucket of two slots,
# the more recently used first; a new chunk takes the first slot and pushes the other one out.
# So the cache never needs emptying and holds at most its number of slots: a hard bound.
_ID_BITS = 20  # three ids per value word; the count sits in bits 60-63 of the first
_ID_MASK = (1 << _ID_BITS) - 1
_MAX_IDS = 12


def new_cache(entries: int = CACHE_ENTRIES) -> np.ndarray:
    """An empty pre-token cache of ``entries`` slots (a power of two, at least 2): 64 bytes
    each, 8 MiB for the default.  A count of 0 (``_unpack``) marks a free slot."""
    n = 2
    while n < entries:
        n *= 2
    return np.zeros((n, 8), np.int64)


@_inline
def pre_keys(buf, s, e):
    """The four keys of a chunk of at most ``CACHE_MAX_BYTES`` bytes: its bytes, packed."""
    n = e - s
    k0 = np.int64(0)
    k1 = np.int64(0)
    k2 = np.int64(0)
    k3 = np.int64(n) << 56
    for q in range(min(n, 7)):
        k0 |= np.int64(buf[s + q]) << (8 * q)
    for q in range(7, min(n, 14)):
        k1 |= np.int64(buf[s + q]) << (8 * (q - 7))
    for q in range(14, min(n, 21)):
        k2 |= np.int64(buf[s + q]) << (8 * (q - 14))
    for q in range(21, n):
        k3 |= np.int64(buf[s + q]) << (8 * (q - 21))
    return (k0, k1, k2, k3)


@_inline
def _bucket(c, k):
    mask = (c.shape[0] >> 1) - 1
    return 2 * ((mix(k[0], mask) ^ mix(k[1] ^ k[3], mask) ^ mix(k[2], mask)) & mask)


@_inline
def _matches(c, i, k):
    return c[i, 0] == k[0] and c[i, 1] == k[1] and c[i, 2] == k[2] and c[i, 3] == k[3]


@_inline
def _unpack(c, i, out, p):
    """Write the ids packed in slot ``i`` (``_pack``) to ``out[p:]``; returns how many."""
    nv = (c[i, 4] >> 60) & 15
    for q in range(nv):
        out[p + q] = (c[i, 4 + q // 3] >> (_ID_BITS * (q % 3))) & _ID_MASK
    return nv


@_inline
def cache_get(c, k, out, p):
    """Copy the cached ids of the chunk with keys ``k`` to ``out[p:]``: how many, or 0 on a
    miss.  A hit in the bucket's second slot swaps it with the first."""
    i = _bucket(c, k)
    if _matches(c, i, k):
        return _unpack(c, i, out, p)
    if _matches(c, i + 1, k):
        for q in range(8):
            c[i, q], c[i + 1, q] = c[i + 1, q], c[i, q]
        return _unpack(c, i, out, p)
    return 0


@_inline
def cache_put(c, k, vals, v0, nv):
    """Cache ``vals[v0:v0 + nv]`` for the chunk with keys ``k`` (absent: the caller missed) in
    its bucket's first slot, the previous first moving to the second.  More than ``_MAX_IDS``
    ids, or an id of 2**20 or more, is not cached."""
    if nv > _MAX_IDS:
        return
    for q in range(nv):
        if vals[v0 + q] > _ID_MASK:
            return
    i = _bucket(c, k)
    if c[i, 4] != 0:
        for q in range(8):
            c[i + 1, q] = c[i, q]
    for q in range(4):
        c[i, q] = k[q]
        c[i, 4 + q] = 0
    c[i, 4] = np.int64(nv) << 60
    for q in range(nv):
        c[i, 4 + q // 3] |= np.int64(vals[v0 + q]) << (_ID_BITS * (q % 3))


@_jit
def byte_pair_table(byte_rank, pairs):
    """The dense byte-pair table of ``MergeTables`` (256 KiB: it stays in the CPU's cache)."""
    out = np.full(1 << 16, -1, np.int32)
    for x in range(256):
        for y in range(256):
            out[(x << 8) | y] = pair_rank(pairs, byte_rank[x], byte_rank[y])
    return out


@_inline
def pair_rank(pairs, a, b):
    """The id of token ``a`` + token ``b``, or -1: the pair table as (key, id) rows, so that a
    probe reads one cache line (``tables.find``'s layout otherwise: linear probing, -1 free)."""
    key = pair_key(a, b)
    mask = pairs.shape[0] - 1
    i = mix(key, mask)
    while True:
        k = pairs[i, 0]
        if k == key:
            return pairs[i, 1]
        if k == -1:
            return -1
        i = (i + 1) & mask


@_inline
def _short_merge(buf, s, n, parts, ranks, byte_rank, byte_pairs, pairs):
    """tiktoken's loop on the bytes ``buf[s:s + n]``: leaves the ids in ``parts`` and returns
    how many.

    ``ranks[i]`` is the id of ``parts[i] + parts[i + 1]`` (or a value above every id; the
    first ones come from the dense byte-pair table); each step joins the lowest (leftmost on a
    tie) and recomputes its two neighbours' pairs.
    """
    big = np.int64(1) << 62
    for i in range(n):
        parts[i] = byte_rank[buf[s + i]]
    for i in range(n - 1):
        r = byte_pairs[(np.int64(buf[s + i]) << 8) | buf[s + i + 1]]
        ranks[i] = r if r >= 0 else big
    while n > 1:
        best = big
        at = -1
        for i in range(n - 1):
            if ranks[i] < best:
                best = ranks[i]
                at = i
        if at < 0:
            break
        parts[at] = best
        for i in range(at + 1, n - 1):
            parts[i] = parts[i + 1]
            ranks[i] = ranks[i + 1]
        n -= 1
        if at + 1 < n:
            r = pair_rank(pairs, parts[at], parts[at + 1])
            ranks[at] = r if r >= 0 else big
        if at > 0:
            r = pair_rank(pairs, parts[at - 1], parts[at])
            ranks[at - 1] = r if r >= 0 else big
    return n


@_jit
def encode_block(buf, bounds, nb, tables, tokens, cache, out, p):
    """Write the ids of chunks ``buf[bounds[j]:bounds[j + 1]]`` (``j < nb - 1``) to ``out``
    from index ``p``; returns the new ``p``.  ``out`` has room for one id per byte."""
    byte_rank, byte_pairs, pairs, pair_keys, pair_ids = tables
    parts = np.empty(SHORT_MERGE, np.int64)
    ranks = np.empty(SHORT_MERGE, np.int64)
    one = np.empty(1, np.int64)
    stop = np.empty(1, np.int64)
    k = (np.int64(0), np.int64(0), np.int64(0), np.int64(0))
    for j in range(nb - 1):
        s = bounds[j]
        e = bounds[j + 1]
        n = e - s
        if n == 1:
            out[p] = byte_rank[buf[s]]
            p += 1
            continue
        if n <= CACHE_MAX_BYTES:
            k = pre_keys(buf, s, e)
            nv = cache_get(cache, k, out, p)
            if nv:  # seen recently
                p += nv
                continue
        k0, k1 = chunk_keys(buf, s, e)
        t = table_find(tokens, buf, s, e, k0, k1)
        if t >= 0:  # the chunk is a token
            nv = table_copy(tokens, t, out, p)
        elif n <= SHORT_MERGE:
            nv = _short_merge(buf, s, n, parts, ranks, byte_rank, byte_pairs, pairs)
            for q in range(nv):
                out[p + q] = parts[q]
        else:  # long: the heap merge
            one[0] = s
            stop[0] = e
            merged, _ = merge_chunks(buf, one, stop, byte_rank, pair_keys, pair_ids)
            nv = len(merged)
            for q in range(nv):
                out[p + q] = merged[q]
        if n <= CACHE_MAX_BYTES:
            cache_put(cache, k, out, p, nv)
        p += nv
    return p


@_jit
def encode_texts(kind, buf, starts, table, tables, tokens, cache, bounds, out, ends):
    """Encode the texts ``buf[starts[d]:starts[d + 1]]`` one after another into ``out`` (room
    for one id per byte); ``ends[d]`` gets where text ``d``'s ids end.  One call for many short
    texts releases and takes the GIL once for them all instead of twice a text, which is what a
    thread encoding a batch beside other threads waits on.  ``kind`` is the scanner's index in
    ``SCAN_KINDS`` (a number, not the function: a function argument would defeat the cache)."""
    p = 0
    for d in range(len(starts) - 1):
        pos = starts[d]
        stop = starts[d + 1]
        text = buf[:stop]  # the scanner must see this text end here, not the next text begin
        while pos < stop:
            if kind == 0:
                count, pos = scan_gpt2(text, table, bounds, pos)
            elif kind == 1:
                count, pos = scan_gpt4(text, table, bounds, pos)
            else:
                count, pos = scan_o200k(text, table, bounds, pos)
            p = encode_block(text, bounds, count, tables, tokens, cache, out, p)
        ends[d] = p
    return p


class ChunkEncoder:
    """The compiled encode of one vocabulary and built-in pattern: ``encode(data) -> int32``.

    >>> ranks = {bytes([i]): i for i in range(256)} | {b"aa": 256, b"aaa": 257, b"ab": 258}
    >>> ChunkEncoder(ranks, "gpt4").encode(b"aaab ab").tolist()
    [257, 98, 32, 258]

    Holds the token and pair tables (built once) and one cache per thread that uses it.
    """

    def __init__(
        self, ranks: dict[bytes, int], pattern_name: str, cache_entries: int = CACHE_ENTRIES
    ) -> None:
        self.cache_entries = cache_entries
        self.scan = SCANNERS[canonical_name(pattern_name)]
        self.scan_kind = SCAN_KINDS.index(canonical_name(pattern_name))
        self.table = class_table()
        merger = CompiledMerger(ranks)
        pair_keys, pair_ids = merger.pair_table
        pairs = np.stack([pair_keys, pair_ids], axis=1)
        self.tables = MergeTables(
            merger.byte_rank, byte_pair_table(merger.byte_rank, pairs), pairs, pair_keys, pair_ids
        )
        toks = list(ranks)
        arena = np.frombuffer(b"".join(toks), np.uint8)
        lengths = np.fromiter(map(len, toks), np.int64, len(toks))
        starts = np.cumsum(lengths) - lengths
        values = np.fromiter(ranks.values(), np.int32, len(toks))
        self.tokens = new_token_table(len(toks), len(arena))
        build_token_map(arena, starts, lengths, values, self.tokens)
        #: every id as a Python int, for ``to_list``
        self._ints = np.array(range(int(values.max(initial=0)) + 1), dtype=object)
        self._local = threading.local()
        # every live thread's cache, for clear_cache: weak, so that a thread's cache goes with
        # it (a program that starts a thread per request must not keep 8 MiB per dead thread)
        self._caches: list[weakref.ref] = []
        self._lock = threading.Lock()

    def to_list(self, ids: np.ndarray) -> list[int]:
        """``ids.tolist()``, twice as fast: the ints exist already, so the list takes new
        references to them (``take`` on an object array) instead of making an int per id."""
        return self._ints.take(ids).tolist()

    def cache(self) -> np.ndarray:
        """This thread's pre-token cache (made on first use)."""
        c = getattr(self._local, "cache", None)
        if c is None:
            c = self._local.cache = new_cache(self.cache_entries)
            with self._lock:
                self._caches = [r for r in self._caches if r() is not None]
                self._caches.append(weakref.ref(c))
        return c

    def clear_cache(self) -> None:
        """Empty every thread's cache (call it when no encode is running)."""
        for c in self._live():
            c[:] = 0

    def cache_sizes(self) -> list[int]:
        """Entries held by each thread's cache (each is at most ``CACHE_ENTRIES``)."""
        return [int(np.count_nonzero(c[:, 4])) for c in self._live()]

    def _live(self) -> list[np.ndarray]:
        with self._lock:
            return [c for r in self._caches if (c := r()) is not None]

    def encode(
        self, data: bytes | np.ndarray, start: int = 0, stop: int | None = None
    ) -> np.ndarray:
        """The ids of UTF-8 ``data[start:stop]`` as an int32 array.  ``data`` must be valid
        UTF-8 (``BPETokenizer`` passes ``encode_text``'s bytes): the kernels check no bounds
        and trust each lead byte's length.

        ``start`` and ``stop`` must be chunk boundaries of the whole text that the scan of
        ``data[start:]`` finds without looking past the character at ``stop`` (0 and the end,
        or the safe points of ``fast.parallel``): the scan then reads up to the end of that
        character only and stops at ``stop``.
        """
        buf = data if isinstance(data, np.ndarray) else np.frombuffer(data, np.uint8)
        if stop is None or stop >= len(buf):
            stop = len(buf)
        else:  # scan to the end of the character at stop: it decides the chunk before it
            lead = int(buf[stop])
            width = 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
            buf = buf[: stop + width]
        out = np.empty(stop - start, np.int32)
        bounds = np.empty(min(BLOCK, stop - start + 2), np.int64)  # a short text: a short array
        cache = self.cache()
        p = 0
        pos = start
        while pos < stop:
            count, pos = self.scan(buf, self.table, bounds, pos)
            if pos > stop:  # the chunk after stop: not ours
                count = int(np.searchsorted(bounds[:count], stop)) + 1
                pos = stop
            p = encode_block(buf, bounds, count, self.tables, self.tokens, cache, out, p)
        return out[:p]

    def encode_many(self, datas: list[bytes], group_bytes: int | None = None) -> list[list[int]]:
        """``[self.to_list(self.encode(d)) for d in datas]``, with runs of consecutive texts
        shorter than ``group_bytes`` (default ``MANY_BYTES``) encoded together by one compiled
        call (``encode_texts``) each: a run stops once it holds ``group_bytes``, so a call
        reads less than twice that.  Like ``encode``, it takes valid UTF-8 only (what
        ``encode_text`` makes): the kernels trust every lead byte's length."""
        limit = MANY_BYTES if group_bytes is None else group_bytes
        lists: list[list[int]] = []
        i = 0
        while i < len(datas):
            if len(datas[i]) >= limit:
                lists.append(self.to_list(self.encode(datas[i])))
                i += 1
                continue
            j = i
            size = 0
            while j < len(datas) and len(datas[j]) < limit and size < limit:
                size += len(datas[j])
                j += 1
            lists += self._encode_together(datas[i:j])
            i = j
        return lists

    def _encode_together(self, group: list[bytes]) -> list[list[int]]:
        """The ids of short texts ``group`` from one compiled call."""
        buf = np.frombuffer(b"".join(group), np.uint8)
        starts = np.zeros(len(group) + 1, np.int64)
        np.cumsum(np.fromiter(map(len, group), np.int64, len(group)), out=starts[1:])
        ids = np.empty(len(buf), np.int32)  # one id per byte at most
        ends = np.empty(len(group), np.int64)
        bounds = np.empty(min(BLOCK, len(buf) + 2), np.int64)
        encode_texts(self.scan_kind, buf, starts, self.table, self.tables, self.tokens,
                     self.cache(), bounds, ids, ends)  # fmt: skip
        lists = []
        prev = 0
        for end in ends.tolist():
            lists.append(self.to_list(ids[prev:end]))
            prev = end
        return lists
