"""The merge loop of the fast BPE trainer, in numba: arrays in, arrays out, no Python objects.

The trainer (``tokenizers/trainer.py``) hands over the distinct chunks ("words") as one flat
``int32`` array of token ids with a start, a current length and a count per word, and reads the
new tokens back.  All the state is named (:class:`TrainState`), and made of plain arrays:

* **words** (:class:`Words`): the token ids of every word, merged in place (``tok``), and
  each word's start, length and count side by side in ``meta`` (one cache line per visit);
* **pairs** (:class:`Pairs`): a pair of token ids is one ``int64`` key (``tables.pair_key``), so
  ordering keys orders pairs by ``(a, b)`` and the tie rule is "smallest key".  An open-addressing
  hash table (``slots``) holds, beside each key, the pair's exact count in the corpus, the head
  of its record list and a stamp: a lookup and the update that follows it touch one cache line,
  which matters because the table outgrows the caches and the loop does millions of updates.
  The record list of a pair (blocks of ``REC_BLOCK`` int32s in ``rec``: a link, a fill count,
  six word ids) names the words that gained the pair at some point: entries go stale (the word
  may have lost the pair since) and repeat, both filtered when the list is used, and the list is
  dropped once the pair is merged;
* **a max-heap with lazy revalidation** (``heap_count``, ``heap_key``): entries may be stale; a
  popped entry whose count differs from the pair's is pushed again with the current count, or
  dropped at 0.  Every time a pair's count grows, a fresh entry is pushed, so the heap always
  holds an entry at least as large as each pair's count, and the first valid entry popped is
  the true best;
* **tokens** (a ``tables.ByteTable``): the bytes of every token, entry ``t`` being token ``t``:
  two different pairs may spell the same bytes, and then the existing id is reused (see
  ``naive_trainer``);
* **scalars** (``sc``, indexed by the names below): sizes, the merge step, and ``NWORK``, the
  loop's work so far (token positions visited, plus pair-list entries, records and heap
  operations weighted by their rough cost).  Tests hold it to linear bounds, and the trainer
  uses it to cut the loop into calls of bounded length.

One merge of ``(a, b)`` -> ``c``: gather the words of the pair from its record list and sort
their ids (``sort_ids``), so that the visits walk ``tok`` and ``meta`` forward (words lie there in
id order) and a repeat is the previous id; the fields and tokens of the words a few visits
ahead are prefetched (``fast.prefetch``).  In each word find the occurrences and the *windows*
around them (``merge_windows``: out to the runs of equal tokens on both sides, so that runs are
counted exactly), count the pairs inside the windows (left to right without overlap), merge in
place from the first window on, count the windows again, sort both short lists and add the
difference, times the word's count, to the pair counts.  Only changed pairs touch the table,
and a long word costs one linear scan per merge plus work in proportion to its windows.  The
common case, one occurrence with no run of equal tokens beside it, skips the lists: its four
changed pairs are known.  The per-word kernels are inlined into the loop (``inline="always"``):
a numba call per word, with its array reference counting, cost more than the work (compiling
takes a few seconds longer, once per cache).
(Tried and dropped, no gain measured: record blocks doubling in size per pair, applying a
merge's count changes in a second pass with the hash slots prefetched ahead.)

Each kernel has a plain-Python reference: ``word_pairs`` / ``merge_word`` mirror
``naive_trainer.pair_counts`` / ``merge``; window recounting is checked against recounting the
whole word; the heap (``fast.ordering``) mirrors ``heapq`` on ``(-count, key)``, the sorts
mirror ``sorted``; and the whole loop is held to ``naive_trainer.train_naive`` by the property
tests.  Under ``NUMBA_DISABLE_JIT=1`` everything
runs as (slow) Python, which the ``nojit`` tests use.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from minigrad.tokenizers.fast.ordering import heap_pop, heap_push, sort_ids, sort_small
from minigrad.tokenizers.fast.prefetch import prefetch
from minigrad.tokenizers.fast.tables import (
    ByteTable,
    add_chunks,
    copy,
    grow,
    mix,
    new_byte_table,
    pair_key,
)

_jit = njit(cache=True, nogil=True)
_inline = njit(cache=True, nogil=True, inline="always")

#: Names of the slots of ``TrainState.sc``: pairs and record blocks in use, heap size, the
#: current merge step, pairs touched in this merge, work done, the number of tokens to stop at,
#: and the longest word's length (merges only shorten words: it sizes the scratch of every call)
NPAIRS, NREC, HSIZE, STEP, NTOUCHED, NWORK, MAX_TOKENS, LONGEST = range(8)
#: A word's fields in ``Words.meta`` (``meta[WORD_FIELDS * w + W_START]`` ...)
W_START, W_LEN, W_COUNT = range(3)
WORD_FIELDS = 3
#: A pair's fields, in its slot of the hash table ``Pairs.slots``: its key (-1 for a free slot),
#: count, newest record block (-1: none), and the last merge step that marked it touched
P_KEY, P_COUNT, P_HEAD, P_STAMP = range(4)
PAIR_FIELDS = 4
#: int32s per record block: the pair's next older block (-1 at the end), how many word ids the
#: block holds, then up to ``REC_BLOCK - 2`` word ids
REC_BLOCK = 8


class Words(NamedTuple):
    tok: np.ndarray  # int32: every word's token ids, back to back
    meta: np.ndarray  # int64, WORD_FIELDS per word: its start in ``tok``, length, count


class Pairs(NamedTuple):
    slots: np.ndarray  # int64, PAIR_FIELDS per slot: key (-1: free), count, record block, stamp
    touched: np.ndarray  # int64: the keys of the pairs whose count grew in this merge
    rec: np.ndarray  # int32, REC_BLOCK per record block: older block, fill, word ids


class TrainState(NamedTuple):
    words: Words
    pairs: Pairs
    heap_count: np.ndarray  # int64
    heap_key: np.ndarray  # int64
    tokens: ByteTable
    sc: np.ndarray  # int64 scalars, indexed by NPAIRS, NREC, ...


@_inline
def word_pairs(tok, s, n, out, o):
    """Write the pair keys of ``tok[s:s+n]`` into ``out[o:]``, left to right without overlap.

    Returns ``o`` plus how many were written.  Reference: ``naive_trainer.pair_counts``.
    """
    skip = False
    for i in range(n - 1):
        x = tok[s + i]
        y = tok[s + i + 1]
        if x == y and skip:
            skip = False
            continue
        out[o] = pair_key(x, y)
        o += 1
        skip = x == y
    return o


@_inline
def merge_windows(tok, s, n, a, b, win_p, win_q, win_m):
    """The stretches of ``tok[s:s+n]`` whose pair counts a merge of ``a b`` can change.

    Around each occurrence ``i`` (as ``merge_word`` finds them) the window runs from the start of
    the run of equal tokens holding ``i - 1`` to the end of the run holding ``i + 2``; windows
    that overlap are joined.  Just outside a window sits a boundary between two different
    tokens that the merge leaves alone, so counting pairs inside the windows before and after
    the merge gives the exact change of the whole word, runs included.  Writes first index
    ``win_p``, last index ``win_q`` and occurrence count ``win_m`` per window.  Returns
    ``(number of windows, steps walked)``: 0 windows means the word does not hold the pair.

    Linear time, runs included: a window's end is always the end of a run, so an occurrence
    with ``i - 1`` inside the current window joins it without walking back, and one whose
    ``i + 2`` is inside it keeps its end without walking forward.  Every walk covers tokens no
    earlier walk covered, so the walks add up to at most ``n`` steps.  (Walking the whole run
    for every occurrence made ``"=" * n``, one run with n / 2 occurrences, cost n**2 / 4.)
    """
    nwin = 0
    steps = 0
    i = 0
    while i < n - 1:
        if tok[s + i] != a or tok[s + i + 1] != b:
            i += 1
            continue
        joined = nwin > 0 and i - 1 <= win_q[nwin - 1]
        if not joined:  # a new window: find the start of the run holding i - 1
            p = max(i - 1, 0)
            while p > 0 and tok[s + p - 1] == tok[s + p]:
                p -= 1
                steps += 1
        q = min(i + 2, n - 1)
        if joined and q <= win_q[nwin - 1]:
            q = win_q[nwin - 1]  # i + 2 lies in the run that ends the window
        else:
            while q < n - 1 and tok[s + q + 1] == tok[s + q]:
                q += 1
                steps += 1
        if joined:
            win_q[nwin - 1] = max(win_q[nwin - 1], q)
            win_m[nwin - 1] += 1
        else:
            win_p[nwin] = p
            win_q[nwin] = q
            win_m[nwin] = 1
            nwin += 1
        i += 2
    return nwin, steps


@_inline
def window_pairs(tok, s, win_p, win_q, win_m, nwin, merged, out):
    """Pair keys inside the windows (before the merge, or after it with ``merged=True``, when
    each window has shifted left by the occurrences before it and shrunk by its own)."""
    m = 0
    shift = 0
    for k in range(nwin):
        p = win_p[k] - shift
        q = win_q[k] - shift
        if merged:
            q -= win_m[k]
            shift += win_m[k]
        m = word_pairs(tok, s + p, q - p + 1, out, m)
    return m


@_inline
def merge_word(tok, s, n, a, b, c):
    """Replace ``a b`` by ``c`` in ``tok[s:s+n]``, left to right, in place; return the new length.

    Reference: ``naive_trainer.merge``.
    """
    i = 0
    j = 0
    while i < n:
        if i + 1 < n and tok[s + i] == a and tok[s + i + 1] == b:
            tok[s + j] = c
            i += 2
        else:
            tok[s + j] = tok[s + i]
            i += 1
        j += 1
    return j


@_inline
def _slot(slots, key):
    """Where ``key``'s fields start in ``slots`` (open addressing, ``PAIR_FIELDS`` int64s per
    slot), or the free slot where they would go.  A pair's count, list and stamp sit beside its
    key, so a lookup and the update after it touch one cache line."""
    mask = len(slots) // PAIR_FIELDS - 1
    i = mix(key, mask)
    while slots[PAIR_FIELDS * i] != key and slots[PAIR_FIELDS * i] != -1:
        i = (i + 1) & mask
    return PAIR_FIELDS * i


@_inline
def _pairs_fit(pairs, sc, n):
    """Whether ``pairs`` takes ``n`` more pairs and record blocks without growing."""
    need = sc[NPAIRS] + n
    return (
        2 * need <= len(pairs.slots) // PAIR_FIELDS
        and need <= len(pairs.touched)
        and (sc[NREC] + n) * REC_BLOCK <= len(pairs.rec)
    )


@_jit
def _grow_pairs(pairs, sc, n):
    """A copy of ``pairs`` with room for ``n`` more pairs and record blocks."""
    need = sc[NPAIRS] + n
    slots = pairs.slots
    if 2 * need > len(slots) // PAIR_FIELDS:
        cap = 2 * (len(slots) // PAIR_FIELDS)
        while cap < 2 * need:
            cap *= 2
        slots = np.full(PAIR_FIELDS * cap, -1, dtype=np.int64)
        old = pairs.slots
        for e in range(0, len(old), PAIR_FIELDS):
            if old[e + P_KEY] != -1:
                copy(slots, _slot(slots, old[e + P_KEY]), old, e, PAIR_FIELDS)
    return Pairs(
        slots,
        grow(pairs.touched, need),
        grow(pairs.rec, (sc[NREC] + n) * REC_BLOCK),
    )


@_inline
def _add_pair(pairs, sc, key, delta, w):
    """Add ``delta`` to the count of pair ``key``; a gain also records word ``w`` and marks the
    pair for a heap push.  ``_pairs_fit(pairs, sc, 1)`` must hold."""
    slots, rec = pairs.slots, pairs.rec
    e = _slot(slots, key)
    if slots[e + P_KEY] != key:
        sc[NPAIRS] += 1
        slots[e + P_KEY] = key
        slots[e + P_COUNT] = 0
        slots[e + P_HEAD] = -1
        slots[e + P_STAMP] = -1
    slots[e + P_COUNT] += delta
    if delta > 0:
        h = slots[e + P_HEAD]
        if h == -1 or rec[REC_BLOCK * h + 1] == REC_BLOCK - 2:  # a new block in front
            b = sc[NREC]
            sc[NREC] += 1
            rec[REC_BLOCK * b] = h
            rec[REC_BLOCK * b + 1] = 0
            slots[e + P_HEAD] = b
            h = b
        f = rec[REC_BLOCK * h + 1]
        rec[REC_BLOCK * h + 2 + f] = w
        rec[REC_BLOCK * h + 1] = f + 1
        if slots[e + P_STAMP] != sc[STEP]:
            slots[e + P_STAMP] = sc[STEP]
            pairs.touched[sc[NTOUCHED]] = key
            sc[NTOUCHED] += 1


@_jit
def _longest(words):
    longest = 2
    for w in range(len(words.meta) // WORD_FIELDS):
        longest = max(longest, words.meta[WORD_FIELDS * w + W_LEN])
    return longest


@_jit
def new_state(tok, wstart, wlen, wcnt, max_tokens):
    """Count the pairs of every word and build all the tables (:class:`TrainState`)."""
    nw = len(wstart)
    meta = np.empty(WORD_FIELDS * nw, dtype=np.int64)
    for w in range(nw):
        meta[WORD_FIELDS * w + W_START] = wstart[w]
        meta[WORD_FIELDS * w + W_LEN] = wlen[w]
        meta[WORD_FIELDS * w + W_COUNT] = wcnt[w]
    words = Words(tok, meta)
    cap = 1 << 10  # grown as pairs appear (a tiny corpus should not pay for a large table)
    pairs = Pairs(
        np.full(PAIR_FIELDS * 4 * cap, -1, dtype=np.int64),
        np.empty(cap, dtype=np.int64),
        np.empty(REC_BLOCK * (len(tok) // 4 + 16), dtype=np.int32),
    )
    sc = np.zeros(LONGEST + 1, dtype=np.int64)
    sc[MAX_TOKENS] = max_tokens
    sc[LONGEST] = _longest(words)
    scratch = np.empty(sc[LONGEST], dtype=np.int64)
    for w in range(nw):
        m = word_pairs(tok, wstart[w], wlen[w], scratch, 0)
        if not _pairs_fit(pairs, sc, m):
            pairs = _grow_pairs(pairs, sc, m)
        for j in range(m):
            sc[NTOUCHED] = 0  # the initial heap is built from all pairs below
            _add_pair(pairs, sc, scratch[j], wcnt[w], w)
    hcount = np.empty(sc[NPAIRS] + 1024, dtype=np.int64)
    hkey = np.empty(sc[NPAIRS] + 1024, dtype=np.int64)
    slots = pairs.slots
    for e in range(0, len(slots), PAIR_FIELDS):
        if slots[e + P_KEY] != -1:
            sc[HSIZE] = heap_push(hcount, hkey, sc[HSIZE], slots[e + P_COUNT], slots[e + P_KEY])
    # the 256 single bytes are tokens 0..255
    tokens, _ = add_chunks(new_byte_table(), np.arange(256).astype(np.uint8), np.arange(257))
    return TrainState(words, pairs, hcount, hkey, tokens, sc)


@_jit
def _pair_words(pairs, e, wl, sc):
    """The words listed under the pair in slot ``e`` (with repeats and stale ones), gathered
    into ``wl`` (grown if needed); the pair's list is dropped.  Returns ``(wl, how many)``."""
    rec = pairs.rec
    h = pairs.slots[e + P_HEAD]
    pairs.slots[e + P_HEAD] = -1
    m = 0
    while h != -1:
        f = rec[REC_BLOCK * h + 1]
        if m + f > len(wl):  # (tested here: a call per block costs more than the copy)
            wl = grow(wl, m + f)
        for j in range(f):
            wl[m + j] = rec[REC_BLOCK * h + 2 + j]
        m += f
        h = rec[REC_BLOCK * h]
        sc[NWORK] += 8 + 4 * f  # a block: one random access
    return wl, m


@_jit
def run_merges(state, min_count, max_merges, max_work):
    """Merge until ``sc[MAX_TOKENS]`` tokens exist, the best count is below ``min_count``, or
    ``max_merges`` merges were done in this call, or the merges of this call have done more
    than ``max_work`` units of work (``NWORK``; checked after each merge).

    Returns ``(state, status)``: status 0 = vocabulary full, 1 = no pair left with
    ``count >= min_count``, 2 = ``max_merges`` or ``max_work`` reached (call again to
    continue).  The caller uses the last two to return to Python every few milliseconds, where
    Ctrl-C can be handled (a compiled loop cannot be interrupted).
    """
    words, pairs, tokens, sc = state.words, state.pairs, state.tokens, state.sc
    hcount, hkey = state.heap_count, state.heap_key
    tok, meta = words.tok, words.meta
    longest = sc[LONGEST]
    before = np.empty(longest, dtype=np.int64)  # the pair keys of a word's windows
    after = np.empty(longest, dtype=np.int64)
    win_p = np.empty(longest // 2 + 2, dtype=np.int64)
    win_q = np.empty_like(win_p)
    win_m = np.empty_like(win_p)
    wl = np.empty(1024, dtype=np.int32)  # the words of the pair being merged
    wtmp = np.empty(1024, dtype=np.int32)
    digit_count = np.empty(2048, dtype=np.int64)
    buf = np.empty(16, dtype=np.uint8)  # the new token's bytes are buf[span[0]:span[1]]
    span = np.zeros(2, dtype=np.int64)
    status = 2
    work_stop = sc[NWORK] + max_work
    for _ in range(max_merges):
        if tokens.size[0] >= sc[MAX_TOKENS]:
            status = 0
            break
        if sc[NWORK] > work_stop:
            break
        # 1. pop the best pair, revalidating stale entries
        best = -1
        count = 0
        while sc[HSIZE] > 0:
            c = hcount[0]
            k = hkey[0]
            sc[HSIZE] = heap_pop(hcount, hkey, sc[HSIZE])
            sc[NWORK] += 16
            e = _slot(pairs.slots, k)
            now = pairs.slots[e + P_COUNT]
            if now == c:
                best = e
                count = c
                break
            if now > 0:
                sc[HSIZE] = heap_push(hcount, hkey, sc[HSIZE], now, k)
        if best < 0 or count < min_count:
            status = 1
            break
        key = pairs.slots[best + P_KEY]
        a = np.int32(key >> 32)
        b = np.int32(key & 0xFFFFFFFF)
        # 2. the new token's bytes; if they are a token already, its id is reused
        span[1] = tokens.length[a] + tokens.length[b]
        buf = grow(buf, span[1])
        copy(buf, 0, tokens.arena, tokens.start[a], tokens.length[a])
        copy(buf, tokens.length[a], tokens.arena, tokens.start[b], tokens.length[b])
        tokens, which = add_chunks(tokens, buf, span)
        new = which[0]
        # 3. merge in every word that holds the pair, in word order (words lie in ``tok`` in
        # that order, so the visits walk memory forward), adding count differences
        sc[STEP] += 1
        sc[NTOUCHED] = 0
        wl, nl = _pair_words(pairs, best, wl, sc)
        wtmp = grow(wtmp, nl)
        sort_ids(wl, nl, wtmp, digit_count)
        prev = -1
        work = 0  # kept in a register, added to sc[NWORK] after the visits
        for t in range(nl):
            if t + 8 < nl:  # the word fields 8 visits ahead, its tokens 4 ahead
                prefetch(meta, WORD_FIELDS * wl[t + 8])
            if t + 4 < nl:
                prefetch(tok, meta[WORD_FIELDS * wl[t + 4] + W_START])
            w = np.int64(wl[t])
            if w == prev:
                continue  # listed twice
            prev = w
            mw = WORD_FIELDS * w
            s = meta[mw + W_START]
            n = meta[mw + W_LEN]
            nwin, steps = merge_windows(tok, s, n, a, b, win_p, win_q, win_m)
            work += n + steps
            if nwin == 0:
                continue  # a stale entry: the word lost the pair since
            f = meta[mw + W_COUNT]
            if win_m[0] == 1 and nwin == 1 and a != b:
                # One occurrence, at i: x a b y -> x c y.  If x is neither a nor c and y is
                # neither b nor c, no run of equal tokens meets the change, so the pairs change
                # by exactly -(x a) -(a b) -(b y) +(x c) +(c y): no window lists needed (the
                # common case; the merged pair itself is zeroed below)
                i = win_p[0]
                while tok[s + i] != a or tok[s + i + 1] != b:
                    i += 1
                x = tok[s + i - 1] if i > 0 else a
                y = tok[s + i + 2] if i + 2 < n else b
                if x != a and x != new and y != b and y != new:
                    meta[mw + W_LEN] = i + merge_word(tok, s + i, n - i, a, b, new)
                    work += n + 40
                    if not _pairs_fit(pairs, sc, 2):
                        pairs = _grow_pairs(pairs, sc, 2)
                    if i > 0:
                        _add_pair(pairs, sc, pair_key(x, a), -f, w)
                        _add_pair(pairs, sc, pair_key(x, new), f, w)
                    if i + 2 < n:
                        _add_pair(pairs, sc, pair_key(b, y), -f, w)
                        _add_pair(pairs, sc, pair_key(new, y), f, w)
                    continue
            mo = window_pairs(tok, s, win_p, win_q, win_m, nwin, False, before)
            p0 = win_p[0]  # nothing changes before the first window
            meta[mw + W_LEN] = p0 + merge_word(tok, s + p0, n - p0, a, b, new)
            mn = window_pairs(tok, s, win_p, win_q, win_m, nwin, True, after)
            work += n + 8 * (mo + mn)  # pair lists: sorted, then a table update each
            if not _pairs_fit(pairs, sc, mn):
                pairs = _grow_pairs(pairs, sc, mn)
            sort_small(before, mo)
            sort_small(after, mn)
            # walk both sorted lists; keys left over on one side changed by -1 / +1 each
            i = 0
            j = 0
            cur = np.int64(-1)
            d = 0
            while i < mo or j < mn:
                if j >= mn or (i < mo and before[i] < after[j]):
                    kk = before[i]
                    dd = -1
                    i += 1
                elif i >= mo or after[j] < before[i]:
                    kk = after[j]
                    dd = 1
                    j += 1
                else:
                    i += 1
                    j += 1
                    continue
                if kk != cur:
                    if d != 0 and cur != key:  # the merged pair itself is zeroed below
                        _add_pair(pairs, sc, cur, d * f, w)
                    cur = kk
                    d = 0
                d += dd
            if d != 0 and cur != key:
                _add_pair(pairs, sc, cur, d * f, w)
        # every occurrence is merged (the table may have grown: find the pair again)
        pairs.slots[_slot(pairs.slots, key) + P_COUNT] = 0
        # 4. a fresh heap entry for every pair whose count grew
        hcount = grow(hcount, sc[HSIZE] + sc[NTOUCHED])
        hkey = grow(hkey, sc[HSIZE] + sc[NTOUCHED])
        sc[NWORK] += work + 16 + 16 * sc[NTOUCHED]  # the visits, the fixed cost, heap pushes
        for t in range(sc[NTOUCHED]):
            k = pairs.touched[t]
            c = pairs.slots[_slot(pairs.slots, k) + P_COUNT]
            if c > 0:
                sc[HSIZE] = heap_push(hcount, hkey, sc[HSIZE], c, k)
    if status == 2 and tokens.size[0] >= sc[MAX_TOKENS]:
        status = 0
    return TrainState(words, pairs, hcount, hkey, tokens, sc), status
