"""The compiled encode (``fast.chunk_encoder``) and its threads (``fast.parallel``) give
tiktoken's ids: from a cold, warm or tiny (always evicting) pre-token cache, in threaded
batches, and with one long text cut at safe points; the cache stays within its bound; the
thread count is validated.
"""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from minigrad.tokenizers import BPETokenizer
from minigrad.tokenizers.fast import chunk_encoder, parallel
from minigrad.tokenizers.fast.chunk_encoder import CACHE_MAX_BYTES, SHORT_MERGE, ChunkEncoder
from minigrad.tokenizers.fast.pretokenize import encode_text, utf8_chunk_bounds
from minigrad.tokenizers.fast.unicode_table import class_table
from tests.tokenizers.bpe_support import MULTILINGUAL, tiktoken_for, trained
from tests.tokenizers.test_pretokenize import TRICKY

tiktoken = pytest.importorskip("tiktoken", reason="tiktoken (the 'compare' extra) is absent")

PATTERNS = ["gpt2", "gpt4", "o200k"]

# Lines of tricky pieces: line feeds followed by every kind of character (letters, "/", the
# whitespace of every kind, marks, punctuation), so that candidate safe points abound.
lines_text = st.lists(
    st.one_of(st.sampled_from([*TRICKY, "\n", "\n\n", "\n/", "\n'", "\n1"]), st.characters()),
    max_size=60,
).map(lambda parts: "".join(parts).encode("utf-8", "replace").decode("utf-8"))
any_text = st.one_of(st.text(), lines_text)


@pytest.fixture(autouse=True)
def _no_shared_cache_state():
    """Every test starts from cold caches (the tokenizers are shared per session)."""
    for pattern in PATTERNS:
        trained(pattern).clear_cache()


@pytest.mark.parametrize("pattern", PATTERNS)
@given(text=any_text)
@example(text="a" * (SHORT_MERGE + 5))  # the heap merge
@example(text=" " + "é" * CACHE_MAX_BYTES)  # longer than a cache key: never cached
@example(text="x\ud800y \ud83d\ude00")  # lone surrogate, and a surrogate pair
def test_cache_path_equals_tiktoken(pattern, text):
    tok = trained(pattern)
    expected = tiktoken_for(pattern).encode_ordinary(text)
    assert tok.encode_ordinary(text, num_threads=1) == expected  # cold
    assert tok.encode_ordinary(text, num_threads=1) == expected  # warm
    assert tok.encode_to_numpy(text, disallowed_special=(), num_threads=1).tolist() == expected


@pytest.mark.parametrize("pattern", PATTERNS)
@given(texts=st.lists(any_text, max_size=6))
def test_tiny_cache_evicts_and_stays_exact(pattern, texts):
    """A cache of two slots evicts on nearly every chunk: the ids must not change, and the
    cache never holds more than its slots."""
    tok = trained(pattern)
    enc = ChunkEncoder(tok.mergeable_ranks, pattern, cache_entries=2)
    ref = tiktoken_for(pattern)
    for text in [*texts, *texts]:
        data = text.encode("utf-8", "replace")
        got = enc.encode(data).tolist()
        assert got == ref.encode_ordinary(data.decode("utf-8"))
        assert all(size <= 2 for size in enc.cache_sizes())


@settings(max_examples=20)
@given(words=st.lists(st.text(min_size=2, max_size=CACHE_MAX_BYTES // 4), min_size=1))
def test_cache_is_bounded(words):
    """After many distinct chunks, each thread's cache holds at most its number of slots."""
    tok = trained("gpt4")
    enc = ChunkEncoder(tok.mergeable_ranks, "gpt4", cache_entries=16)
    text = " ".join(words) + " " + " ".join(f"w{i}" for i in range(200))
    assert enc.encode(text.encode("utf-8", "replace")).size > 0
    assert enc.cache_sizes() and all(size <= 16 for size in enc.cache_sizes())
    enc.clear_cache()
    assert enc.cache_sizes() == [0]


@pytest.mark.parametrize("pattern", PATTERNS)
@given(text=lines_text)
@example(text="a  \nb")  # gpt2: "  \n" before a letter ends with the line feed
@example(text="!\n/x\nz")  # o200k: a punctuation run takes line feeds *and* slashes
def test_safe_points_are_boundaries_that_need_no_lookahead(pattern, text):
    """Both halves of the safe-point argument (``fast.parallel``): every safe point is a chunk
    boundary, and scanning only up to the end of the character at it finds the same chunks
    before it."""
    data, bounds = utf8_chunk_bounds(text, pattern)
    table = class_table()
    whole = set(bounds.tolist())
    enc = ChunkEncoder(trained(pattern).mergeable_ranks, pattern)
    ids = enc.encode(data).tolist()
    points = [p for p in range(len(data)) if parallel.is_safe_point(data, p, table)]
    for p in points:
        assert p in whole
        assert enc.encode(data, 0, p).tolist() + enc.encode(data, p).tolist() == ids
    if len(points) >= 2:  # three pieces, the middle one cut at both ends
        a, b = points[0], points[-1]
        pieces = [enc.encode(data, 0, a), enc.encode(data, a, b), enc.encode(data, b)]
        assert np.concatenate(pieces).tolist() == ids
    found = parallel.safe_points(data, 4, table)
    assert found == sorted(set(found)) and all(p in points for p in found)


@pytest.mark.parametrize("pattern", PATTERNS)
@given(texts=st.lists(any_text, max_size=8), threads=st.integers(1, 4))
def test_threaded_paths_equal_tiktoken(pattern, texts, threads):
    """With the size threshold at zero, every text is cut at its safe points and every batch
    is dealt to the threads."""
    tok = trained(pattern)
    ref = tiktoken_for(pattern)
    expected = [ref.encode_ordinary(t) for t in texts]
    joined = "\n".join(texts)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(parallel, "PARALLEL_MIN_BYTES", 0)
        assert tok.encode_ordinary_batch(texts, num_threads=threads) == expected
        mp.setattr(chunk_encoder, "MANY_BYTES", 8)  # groups of a few texts, long ones alone
        assert tok.encode_ordinary_batch(texts, num_threads=threads) == expected
        assert tok.encode_batch(texts, num_threads=threads, disallowed_special=()) == [
            ref.encode(t, disallowed_special=()) for t in texts
        ]
        assert tok.encode_ordinary(joined, num_threads=threads) == ref.encode_ordinary(joined)


def test_one_pool_per_thread_count_whatever_the_number_of_pieces():
    """A batch of k texts on n threads makes min(k, n) groups (a long text as many pieces as
    it has safe points); the pool must still be the one of n - 1 threads, not one more pool
    (and more threads and caches) per number of pieces."""
    tok = trained("gpt4")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(parallel, "_pools", {})
        mp.setattr(parallel, "PARALLEL_MIN_BYTES", 0)
        try:
            for k in range(2, 7):
                tok.encode_ordinary_batch(["a b c"] * k, num_threads=6)
                tok.encode_ordinary("x\ny\n" * k, num_threads=6)
            # one long text takes at most one thread per CPU (``encode_parallel``)
            assert set(parallel._pools) <= {5, min(6, os.cpu_count() or 1) - 1}
        finally:
            for pool in parallel._pools.values():
                pool.shutdown()


def test_real_text_threads_and_specials(monkeypatch):
    monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", 1000)
    from benchmarks.corpus import prose_corpus, stdlib_corpus

    tok = trained("gpt4")
    ref = tiktoken_for("gpt4")
    texts = [stdlib_corpus(60_000), prose_corpus(30_000), MULTILINGUAL * 20]
    for text in texts:
        expected = ref.encode_ordinary(text)
        for threads in (1, 2, 3):
            assert tok.encode_ordinary(text, num_threads=threads) == expected
            assert tok.encode_to_numpy(text, num_threads=threads).tolist() == expected
    assert tok.encode_ordinary_batch(texts, num_threads=2) == ref.encode_ordinary_batch(texts)
    special = texts[0][:5000] + "<|endoftext|>" + texts[2]
    assert tok.encode_batch([special, texts[1]], num_threads=2, allowed_special="all") == (
        ref.encode_batch([special, texts[1]], allowed_special="all")
    )
    with pytest.raises(ValueError, match="which is disallowed"):
        tok.encode_batch([texts[1], special], num_threads=2)


def test_custom_pattern_batch_with_threads():
    tok = BPETokenizer(trained("gpt4").mergeable_ranks, pattern=r"\w+|\s+|[^\w\s]+")
    texts = [MULTILINGUAL, "a b", ""]
    assert tok.encode_ordinary_batch(texts, num_threads=3) == [tok.encode(t) for t in texts]


@pytest.mark.parametrize("bad", [0, -1])
def test_num_threads_below_one(bad):
    tok = trained("gpt4")
    for call in _thread_calls(tok, bad):
        with pytest.raises(ValueError, match="num_threads must be at least 1"):
            call()


@pytest.mark.parametrize("bad", [1.5, "2", None, True, 2.0])
def test_num_threads_not_an_int(bad):
    tok = trained("gpt4")
    for call in _thread_calls(tok, bad):
        with pytest.raises(TypeError, match="num_threads must be an int"):
            call()


def _thread_calls(tok, n):
    return [
        lambda: tok.encode("a", num_threads=n),
        lambda: tok.encode_ordinary("a", num_threads=n),
        lambda: tok.encode_to_numpy("a", num_threads=n),
        lambda: tok.encode_batch(["a"], num_threads=n),
        lambda: tok.encode_ordinary_batch(["a"], num_threads=n),
    ]


def test_numpy_int_thread_count_is_accepted():
    tok = trained("gpt4")
    assert tok.encode_ordinary("hi there", num_threads=np.int64(2)) == tok.encode("hi there")


@pytest.mark.parametrize("pattern", PATTERNS)
@given(texts=st.lists(any_text, max_size=10), group_bytes=st.integers(1, 40))
@example(texts=["", "a", ""], group_bytes=1)  # empty texts, and a text that goes alone
def test_many_texts_in_one_compiled_call_equal_each_alone(pattern, texts, group_bytes):
    """``encode_many`` puts consecutive short texts into one kernel call (``encode_texts``):
    a text's ids must not depend on its neighbours, wherever the groups are cut."""
    tok = trained(pattern)
    ref = tiktoken_for(pattern)
    datas = [encode_text(t) for t in texts]
    got = tok._chunks().encode_many(datas, group_bytes=group_bytes)
    assert got == [tok._chunks().to_list(tok._chunks().encode(d)) for d in datas]
    assert got == [ref.encode_ordinary(t) for t in texts]


@pytest.mark.nojit
@settings(max_examples=10)
@given(text=st.lists(st.sampled_from(["ab", "a", " ", "\n", "b/", "ba", "é", "\n\n"])).map("".join))
def test_chunk_encoder_as_plain_python(text):
    """The kernels as plain Python (``NUMBA_DISABLE_JIT=1``) on a tiny vocabulary, against the
    reference per-chunk path."""
    ranks = {bytes([i]): i for i in range(256)} | {b"ab": 256, b"aba": 257, b" a": 258}
    enc = ChunkEncoder(ranks, "gpt4", cache_entries=4)
    ref = BPETokenizer(ranks)
    ref._fast = None  # the regex split and the plain Python merge
    data = text.encode()
    expected = ref.encode_ordinary(text)
    assert enc.encode(data).tolist() == expected
    assert enc.encode(data).tolist() == expected  # from the cache
    assert enc.encode_many([data, b"", data], group_bytes=len(data) + 1) == [expected, [], expected]
    points = parallel.safe_points(data, 3, enc.table)
    cuts = [0, *points, len(data)]
    pieces = [enc.encode(data, a, b).tolist() for a, b in itertools.pairwise(cuts)]
    assert list(itertools.chain.from_iterable(pieces)) == expected


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_threads_in_a_forked_child():
    """A forked child (a data-loader worker) inherits the parent's thread pools without their
    threads; encoding with threads there must make new ones, not wait forever."""
    import multiprocessing

    tok = trained("gpt4")
    texts = [MULTILINGUAL * 30, "a b\nc" * 5000]
    expected = tiktoken_for("gpt4").encode_ordinary_batch(texts)
    assert tok.encode_ordinary_batch(texts, num_threads=2) == expected  # the parent's pool
    with multiprocessing.get_context("fork").Pool(1) as pool:
        result = pool.apply_async(_encode_in_child, (texts,))
        assert result.get(timeout=60) == expected


def _encode_in_child(texts):
    parallel.PARALLEL_MIN_BYTES = 0
    return trained("gpt4").encode_ordinary_batch(texts, num_threads=2)


def test_a_finished_threads_cache_is_released():
    """Each thread's cache lives as long as its thread: a program that starts a thread per
    request does not accumulate caches."""
    import gc
    import threading

    enc = ChunkEncoder(trained("gpt4").mergeable_ranks, "gpt4", cache_entries=64)
    enc.encode(b"main thread")
    for _ in range(5):
        worker = threading.Thread(target=enc.encode, args=(b"hello there",))
        worker.start()
        worker.join()
    gc.collect()
    assert len(enc.cache_sizes()) == 1  # the main thread's only


@given(n=st.integers(0, 5))
def test_run_here_and_on_pool_keeps_order_and_runs_the_first_item_here(n):
    """The first piece runs on the calling thread (so its cache is the one a one-thread encode
    warms), the rest on pool threads; the results come back in order."""
    import threading

    def who(x):
        return x, threading.get_ident()

    out = parallel.run_here_and_on_pool(who, list(range(n)), max(n, 2))
    assert [x for x, _ in out] == list(range(n))
    if n:
        assert out[0][1] == threading.get_ident()
    assert all(ident != threading.get_ident() for _, ident in out[1:])


def test_run_here_and_on_pool_raises_the_first_items_error_and_cancels_the_rest():
    """An error (Ctrl-C included) in the caller's own piece reaches the caller, and pieces the
    pool has not started yet are cancelled rather than left to run for nobody."""
    import threading

    gate = threading.Event()
    pool = parallel._pool(2)
    blockers = [pool.submit(gate.wait, 10) for _ in range(2)]  # the pool is busy elsewhere
    ran = []

    def work(x):
        if x == 0:
            raise KeyboardInterrupt
        ran.append(x)

    try:
        with pytest.raises(KeyboardInterrupt):
            parallel.run_here_and_on_pool(work, [0, 1, 2], 3)
    finally:
        gate.set()
    for b in blockers:
        b.result(timeout=10)
    pool.submit(lambda: None).result(timeout=10)  # anything queued has run by now
    assert ran == []
