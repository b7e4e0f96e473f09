"""Numba kernels of the fast BPE trainer: arrays in, arrays out, no Python objects.

The trainer (``trainer.py``) hands these kernels the distinct chunks ("words") as one flat
``int32`` array of token ids with a start, a current length and a count per word, and gets back the
merges.  The data structures, all plain numpy arrays (their small helpers, the hash tables and
the heap, live in ``_train_tables``):

* **pairs**: a pair of token ids ``(a, b)`` is one ``int64`` key ``a << 32 | b`` (so ordering keys
  orders pairs by ``(a, b)``: the tie rule is "smallest key").  An open-addressing hash table
  (``ht_keys`` → ``ht_vals``) gives each key a stable pair index ``p``; ``pcount[p]`` is its exact
  count in the corpus;
* **pair → words index**: a linked list per pair (``phead[p]``, then ``rnext[r]`` / ``rword[r]``)
  of the words that gained the pair at some point.  Entries go stale (the word may have lost the
  pair since) and repeat; both are filtered when the list is used, and the list is dropped once
  the pair is merged;
* **max-heap with lazy revalidation** (``hcount``, ``hkey``): entries may be stale; a popped entry
  whose count differs from ``pcount`` is pushed again with the current count, or dropped at 0.
  Every time a pair's count grows, a fresh entry is pushed, so the heap always holds an entry at
  least as large as each pair's count, and the first valid entry popped is the true best;
* **tokens**: the bytes of every token (``tbytes`` from ``tstart``, ``tlen`` long) and a hash table
  from bytes to id, because two different pairs may spell the same bytes (then the existing id is
  reused: see ``naive_trainer``).

One merge of ``(a, b)`` → ``c``: walk the words of the pair; in each word find the occurrences
and the *windows* around them (``merge_windows``: out to the runs of equal tokens on both sides,
so that runs are counted exactly), count the pairs inside the windows (left to right without
overlap), merge in place, count the windows again, sort both short lists and add the
difference, times the word's count, to ``pcount``.  Only changed pairs touch the global table,
and a long word costs one linear scan per merge plus work in proportion to its windows.

Each kernel has a plain-Python reference: ``word_pairs`` / ``merge_word`` mirror
``naive_trainer.pair_counts`` / ``merge``; window recounting is checked against recounting the
whole word; the heap mirrors ``heapq`` on ``(-count, key)``; and the whole loop is held to
``naive_trainer.train_naive`` by the property tests.  Under
``NUMBA_DISABLE_JIT=1`` everything runs as (slow) Python, which the ``nojit`` tests use.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from minigrad.tokenizers.fast.tables import (
    _copy,
    _grow,
    _rehash,
    _sort_small,
    _token_hash,
    _token_slot,
    heap_pop,
    heap_push,
    ht_find,
    pair_key,
)

_jit = njit(cache=True, nogil=True)

# slots of the int64 scalar array ``sc`` that travels with the state; NWORK counts the merge
# loop's work: token positions visited (scans, walks along runs), plus pair-list entries,
# records, heap operations weighted by their rough cost.  Tests hold it to linear bounds, and
# the trainer uses it to cut the loop into calls of bounded length
NPAIRS, NREC, HSIZE, NTOK, NBYTES, NMERGES, STEP, NTOUCHED, NWORK = range(9)
N_SCALARS = 9


@_jit
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


@_jit
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


@_jit
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


@_jit
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


@_jit
def _add_pair(
    key, delta, w, ht_keys, ht_vals, pkey, pcount, phead, pstamp, rword, rnext, touched, sc
):
    """pcount[key] += delta; a gain also records word ``w`` and marks the pair for a heap push.

    The caller has made room for one more pair, record and touched entry.
    """
    i = ht_find(ht_keys, key)
    if ht_keys[i] == key:
        p = ht_vals[i]
    else:
        p = sc[NPAIRS]
        sc[NPAIRS] += 1
        ht_keys[i] = key
        ht_vals[i] = p
        pkey[p] = key
        pcount[p] = 0
        phead[p] = -1
        pstamp[p] = -1
    pcount[p] += delta
    if delta > 0:
        r = sc[NREC]
        sc[NREC] += 1
        rword[r] = w
        rnext[r] = phead[p]
        phead[p] = r
        if pstamp[p] != sc[STEP]:
            pstamp[p] = sc[STEP]
            touched[sc[NTOUCHED]] = p
            sc[NTOUCHED] += 1


@_jit
def new_state(tok, wstart, wlen, wcnt, max_tokens):
    """Count the pairs of every word and build all the tables; returns the state tuple."""
    nw = len(wstart)
    max_len = 2
    for w in range(nw):
        max_len = max(max_len, wlen[w])
    scratch_old = np.empty(max_len, dtype=np.int64)
    scratch_new = np.empty(max_len, dtype=np.int64)
    cap = 1 << 16
    pkey = np.empty(cap, dtype=np.int64)
    pcount = np.empty(cap, dtype=np.int64)
    phead = np.empty(cap, dtype=np.int32)
    pstamp = np.empty(cap, dtype=np.int32)
    touched = np.empty(cap, dtype=np.int32)
    ht_keys = np.full(4 * cap, -1, dtype=np.int64)
    ht_vals = np.empty(4 * cap, dtype=np.int32)
    rword = np.empty(len(tok) + 16, dtype=np.int32)
    rnext = np.empty(len(tok) + 16, dtype=np.int32)
    sc = np.zeros(N_SCALARS, dtype=np.int64)
    wstamp = np.full(nw, -1, dtype=np.int32)
    for w in range(nw):
        m = word_pairs(tok, wstart[w], wlen[w], scratch_old, 0)
        if sc[NPAIRS] + m > len(pkey):
            n = sc[NPAIRS] + m
            pkey, pcount = _grow(pkey, n), _grow(pcount, n)
            phead, pstamp, touched = _grow(phead, n), _grow(pstamp, n), _grow(touched, n)
        if 2 * (sc[NPAIRS] + m) > len(ht_keys):
            ht_keys, ht_vals = _rehash(pkey, sc[NPAIRS], 4 * len(ht_keys))
        for j in range(m):
            sc[NTOUCHED] = 0  # the initial heap is built from all pairs below
            _add_pair(
                scratch_old[j], wcnt[w], w,
                ht_keys, ht_vals, pkey, pcount, phead, pstamp, rword, rnext, touched, sc,
            )  # fmt: skip
    npairs = sc[NPAIRS]
    hcount = np.empty(npairs + 1024, dtype=np.int64)
    hkey = np.empty(npairs + 1024, dtype=np.int64)
    size = 0
    for p in range(npairs):
        size = heap_push(hcount, hkey, size, pcount[p], pkey[p])
    sc[HSIZE] = size
    # tokens: the 256 single bytes
    tcap = 16
    while tcap < 2 * max_tokens:
        tcap *= 2
    tht = np.full(tcap, -1, dtype=np.int32)
    tstart = np.zeros(max_tokens, dtype=np.int64)
    tlen = np.zeros(max_tokens, dtype=np.int64)
    thash = np.zeros(max_tokens, dtype=np.int64)
    tbytes = np.empty(4096, dtype=np.uint8)
    one = np.empty(1, dtype=np.uint8)
    for t in range(256):
        one[0] = t
        h = _token_hash(one, 1)
        i = _token_slot(tht, thash, tstart, tlen, tbytes, h, one, 1)
        tht[i] = t
        tbytes[t] = t
        tstart[t] = t
        tlen[t] = 1
        thash[t] = h
    sc[NTOK] = 256
    sc[NBYTES] = 256
    out = np.empty(3 * 1024, dtype=np.int32)
    return (
        tok, wstart, wlen, wcnt, wstamp, scratch_old, scratch_new,
        ht_keys, ht_vals, pkey, pcount, phead, pstamp, touched, rword, rnext,
        hcount, hkey, tbytes, tstart, tlen, thash, tht, out, sc,
    )  # fmt: skip


@_jit
def run_merges(state, min_count, max_merges, max_work):
    """Merge until ``len(tstart)`` tokens exist, the best count is below ``min_count``, or
    ``max_merges`` merges were done in this call, or the merges of this call have done more
    than ``max_work`` units of work (``NWORK``; checked after each merge).

    Returns ``(state, status)``: status 0 = vocabulary full, 1 = no pair left with
    ``count >= min_count``, 2 = ``max_merges`` or ``max_work`` reached (call again to
    continue).  The caller uses the last two to return to Python every few milliseconds, where
    Ctrl-C can be handled (a compiled loop cannot be interrupted).
    """
    (
        tok, wstart, wlen, wcnt, wstamp, scratch_old, scratch_new,
        ht_keys, ht_vals, pkey, pcount, phead, pstamp, touched, rword, rnext,
        hcount, hkey, tbytes, tstart, tlen, thash, tht, out, sc,
    ) = state  # fmt: skip
    max_tokens = len(tstart)
    buf = np.empty(16, dtype=np.uint8)
    win_p = np.empty(len(scratch_old) // 2 + 2, dtype=np.int64)
    win_q = np.empty_like(win_p)
    win_m = np.empty_like(win_p)
    status = 2
    work_stop = sc[NWORK] + max_work
    for _ in range(max_merges):
        if sc[NTOK] >= max_tokens:
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
            p = ht_vals[ht_find(ht_keys, k)]
            if pcount[p] == c:
                best = p
                count = c
                break
            if pcount[p] > 0:
                sc[HSIZE] = heap_push(hcount, hkey, sc[HSIZE], pcount[p], k)
        if best < 0 or count < min_count:
            status = 1
            break
        key = pkey[best]
        a = np.int32(key >> 32)
        b = np.int32(key & 0xFFFFFFFF)
        # 2. the new token's bytes; reuse the id if these bytes are a token already
        m = tlen[a] + tlen[b]
        if m > len(buf):
            buf = np.empty(2 * m, dtype=np.uint8)
        _copy(buf, 0, tbytes, tstart[a], tlen[a])
        _copy(buf, tlen[a], tbytes, tstart[b], tlen[b])
        h = _token_hash(buf, m)
        slot = _token_slot(tht, thash, tstart, tlen, tbytes, h, buf, m)
        if tht[slot] >= 0:
            c_id = tht[slot]
        else:
            c_id = sc[NTOK]
            sc[NTOK] += 1
            if sc[NBYTES] + m > len(tbytes):
                tbytes = _grow(tbytes, sc[NBYTES] + m)
            _copy(tbytes, sc[NBYTES], buf, 0, m)
            tstart[c_id] = sc[NBYTES]
            tlen[c_id] = m
            thash[c_id] = h
            sc[NBYTES] += m
            tht[slot] = c_id
        if 3 * sc[NMERGES] + 3 > len(out):
            out = _grow(out, 3 * sc[NMERGES] + 3)
        out[3 * sc[NMERGES]] = a  # merges as (left, right, new) triples
        out[3 * sc[NMERGES] + 1] = b
        out[3 * sc[NMERGES] + 2] = c_id
        sc[NMERGES] += 1
        # 3. merge in every word that holds the pair, adding count differences
        sc[STEP] += 1
        sc[NTOUCHED] = 0
        r = phead[best]
        phead[best] = -1
        while r != -1:
            w = np.int64(rword[r])
            r = rnext[r]
            sc[NWORK] += 8  # a record: a few random accesses
            if wstamp[w] == sc[STEP]:
                continue  # listed twice
            wstamp[w] = sc[STEP]
            s = wstart[w]
            n = wlen[w]
            nwin, steps = merge_windows(tok, s, n, a, b, win_p, win_q, win_m)
            sc[NWORK] += n + steps
            if nwin == 0:
                continue  # a stale entry: the word lost the pair since
            mo = window_pairs(tok, s, win_p, win_q, win_m, nwin, False, scratch_old)
            wlen[w] = merge_word(tok, s, n, a, b, c_id)
            mn = window_pairs(tok, s, win_p, win_q, win_m, nwin, True, scratch_new)
            sc[NWORK] += n + 8 * (mo + mn)  # pair lists: sorted, then a table update each
            # room for up to mn new pairs and records
            need = sc[NPAIRS] + mn
            if need > len(pkey):
                pkey, pcount = _grow(pkey, need), _grow(pcount, need)
                phead, pstamp, touched = (
                    _grow(phead, need),
                    _grow(pstamp, need),
                    _grow(touched, need),
                )
            if 2 * need > len(ht_keys):
                ht_keys, ht_vals = _rehash(pkey, sc[NPAIRS], 4 * len(ht_keys))
            if sc[NREC] + mn > len(rword):
                rword, rnext = _grow(rword, sc[NREC] + mn), _grow(rnext, sc[NREC] + mn)
            _sort_small(scratch_old, mo)
            _sort_small(scratch_new, mn)
            # walk both sorted lists; keys left over on one side changed by -1 / +1 each
            f = wcnt[w]
            i = 0
            j = 0
            cur = np.int64(-1)
            d = 0
            while i < mo or j < mn:
                if j >= mn or (i < mo and scratch_old[i] < scratch_new[j]):
                    kk = scratch_old[i]
                    dd = -1
                    i += 1
                elif i >= mo or scratch_new[j] < scratch_old[i]:
                    kk = scratch_new[j]
                    dd = 1
                    j += 1
                else:
                    i += 1
                    j += 1
                    continue
                if kk != cur:
                    if d != 0 and cur != key:  # the merged pair itself is zeroed below
                        _add_pair(
                            cur, d * f, w, ht_keys, ht_vals, pkey, pcount,
                            phead, pstamp, rword, rnext, touched, sc,
                        )  # fmt: skip
                    cur = kk
                    d = 0
                d += dd
            if d != 0 and cur != key:
                _add_pair(
                    cur, d * f, w,
                    ht_keys, ht_vals, pkey, pcount, phead, pstamp, rword, rnext, touched, sc,
                )  # fmt: skip
        pcount[best] = 0  # every occurrence is merged (saves a table lookup per occurrence)
        # 4. a fresh heap entry for every pair whose count grew
        need = sc[HSIZE] + sc[NTOUCHED]
        if need > len(hkey):
            hcount, hkey = _grow(hcount, need), _grow(hkey, need)
        sc[NWORK] += 16 + 16 * sc[NTOUCHED]  # the merge's fixed cost, then heap pushes
        for t in range(sc[NTOUCHED]):
            p = touched[t]
            if pcount[p] > 0:
                sc[HSIZE] = heap_push(hcount, hkey, sc[HSIZE], pcount[p], pkey[p])
    if status == 2 and sc[NTOK] >= max_tokens:
        status = 0
    state = (
        tok, wstart, wlen, wcnt, wstamp, scratch_old, scratch_new,
        ht_keys, ht_vals, pkey, pcount, phead, pstamp, touched, rword, rnext,
        hcount, hkey, tbytes, tstart, tlen, thash, tht, out, sc,
    )  # fmt: skip
    return state, status
