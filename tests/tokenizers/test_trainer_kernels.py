"""The trainer's numba kernels against their plain-Python references.

Marked ``nojit``: CI also runs these with ``NUMBA_DISABLE_JIT=1``, where the kernels are Python.
"""

from __future__ import annotations

import heapq
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.tokenizers.fast import merge_loop as K
from minigrad.tokenizers.naive_trainer import merge, pair_counts, train_naive
from minigrad.tokenizers.trainer import train_bpe

pytestmark = pytest.mark.nojit

ids_st = st.lists(st.integers(0, 3), max_size=30)


@given(ids=ids_st)
def test_word_pairs_matches_reference(ids):
    tok = np.array([7, *ids, 7], dtype=np.int32)  # an offset start, as inside the flat array
    out = np.empty(max(len(ids), 1), dtype=np.int64)
    m = K.word_pairs(tok, 1, len(ids), out, 0)
    got: dict[tuple[int, int], int] = {}
    for key in out[:m].tolist():
        pair = (key >> 32, key & 0xFFFFFFFF)
        got[pair] = got.get(pair, 0) + 1
    assert got == pair_counts(ids)


def _signed(keys) -> dict[int, int]:
    out: dict[int, int] = {}
    for k in keys:
        out[k] = out.get(k, 0) + 1
    return out


@given(ids=ids_st, a=st.integers(0, 3), b=st.integers(0, 3), c=st.integers(0, 4))
def test_window_recount_equals_full_recount(ids, a, b, c):
    """Counting pairs only in the merge windows gives the same change as recounting the word.

    ``c`` may equal an id already in the word (the repeated-bytes case), so runs can grow.
    """
    tok = np.array([7, *ids, 7], dtype=np.int32)
    n = len(ids)
    win = [np.empty(n // 2 + 2, dtype=np.int64) for _ in range(3)]
    nwin, steps = K.merge_windows(tok, 1, n, a, b, *win)
    assert 0 <= steps <= n  # the walks along runs never cover a token twice
    assert (nwin > 0) == any(p == (a, b) for p in pairwise(ids))
    buf = np.empty(max(n, 1), dtype=np.int64)
    old = _signed(buf[: K.window_pairs(tok, 1, *win, nwin, False, buf)].tolist())
    K.merge_word(tok, 1, n, a, b, c)
    new = _signed(buf[: K.window_pairs(tok, 1, *win, nwin, True, buf)].tolist())
    merged = merge(ids, (a, b), c)
    full_old, full_new = pair_counts(ids), pair_counts(merged)
    want = {
        K.pair_key(*p): full_new.get(p, 0) - full_old.get(p, 0)
        for p in set(full_old) | set(full_new)
    }
    got = {k: new.get(k, 0) - old.get(k, 0) for k in set(old) | set(new)}
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in want.items() if v}


@given(ids=ids_st, a=st.integers(0, 3), b=st.integers(0, 3))
def test_merge_word_matches_reference(ids, a, b):
    tok = np.array([7, *ids, 7], dtype=np.int32)
    n = K.merge_word(tok, 1, len(ids), a, b, 9)
    assert tok[1 : 1 + n].tolist() == merge(ids, (a, b), 9)
    assert tok[-1] == 7  # nothing written past the word


@given(ops=st.lists(st.one_of(st.none(), st.tuples(st.integers(0, 5), st.integers(0, 5)))))
def test_heap_matches_heapq(ops):
    """Max count first, then the smallest key: heapq on (-count, key) is the reference."""
    hcount = np.empty(len(ops) + 1, dtype=np.int64)
    hkey = np.empty(len(ops) + 1, dtype=np.int64)
    size = 0
    ref: list[tuple[int, int]] = []
    for op in ops:
        if op is None:
            if ref:
                c, k = heapq.heappop(ref)
                assert (hcount[0], hkey[0]) == (-c, k)
                size = K.heap_pop(hcount, hkey, size)
        else:
            size = K.heap_push(hcount, hkey, size, op[0], op[1])
            heapq.heappush(ref, (-op[0], op[1]))
        assert size == len(ref)


def test_pair_key_orders_like_tuples():
    pairs = [(0, 5), (1, 0), (0, 300), (255, 255), (40000, 1), (3, 70000)]
    keys = [K.pair_key(a, b) for a, b in pairs]
    assert sorted(pairs) == [pairs[keys.index(k)] for k in sorted(keys)]


@given(
    corpus=st.lists(st.sampled_from(["a", "aa", "b", " ", "ab", "é", "\n"]), max_size=25).map(
        "".join
    ),
    pattern=st.sampled_from(["gpt4", None]),
    extra=st.integers(0, 20),
)
def test_trainer_matches_naive_small(corpus, pattern, extra):
    try:
        want = train_naive(corpus, 256 + extra, pattern=pattern, min_frequency=1)
    except ValueError:
        return
    assert train_bpe(corpus, 256 + extra, pattern=pattern, min_frequency=1) == want


@given(
    xs=st.one_of(
        st.lists(st.integers(0, 2**31 - 1), max_size=40),
        st.lists(st.integers(0, 5000), min_size=250, max_size=700),  # the radix path
        st.lists(st.integers(0, 2**31 - 1), min_size=257, max_size=400),  # three digit passes
    ),
    extra=st.integers(0, 3),
)
def test_sort_ids_sorts_the_prefix(xs, extra):
    x = np.array([*xs, *([7] * extra)], dtype=np.int32)
    tmp = np.empty(len(x), dtype=np.int32)
    K.sort_ids(x, len(xs), tmp, np.empty(2048, dtype=np.int64))
    assert x[: len(xs)].tolist() == sorted(xs)
    assert x[len(xs) :].tolist() == [7] * extra  # the rest untouched


@given(xs=st.lists(st.integers(-(2**62), 2**62), max_size=200), extra=st.integers(0, 3))
def test_sort_small_sorts_the_prefix(xs, extra):
    x = np.array([*xs, *([7] * extra)], dtype=np.int64)
    K.sort_small(x, len(xs))
    assert x[: len(xs)].tolist() == sorted(xs)
    assert x[len(xs) :].tolist() == [7] * extra  # the rest untouched


@given(xs=st.lists(st.binary(max_size=10), min_size=1, max_size=20), entries=st.integers(1, 64))
def test_byte_table_counts_like_counter(xs, entries):
    """The byte-string table against ``Counter``: short keys are exact, long ones confirmed;
    a table that starts small grows (and rehashes) on the way."""
    from collections import Counter

    from minigrad.tokenizers.fast import tables as T

    data = b"".join(xs)
    bounds = np.cumsum([0, *map(len, xs)]).astype(np.int64)
    keep = [0, *[j + 1 for j, x in enumerate(xs) if x]]  # empty chunks are not chunks
    bounds = bounds[keep]
    table, which = T.add_chunks(T.new_byte_table(entries), np.frombuffer(data, np.uint8), bounds)
    distinct = T.entry_bytes(table)
    counts = table.count[: len(distinct)].tolist()
    assert dict(zip(distinct, counts)) == Counter(x for x in xs if x)
    assert [distinct[t] for t in which.tolist()] == [x for x in xs if x]
    if xs[0]:
        assert T.bytes_key(np.frombuffer(xs[0], dtype=np.uint8), 0, len(xs[0])) != 0
