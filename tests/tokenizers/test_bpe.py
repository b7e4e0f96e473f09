"""BPETokenizer: round trips, parity with tiktoken, BPE invariants, validation, speed."""

from __future__ import annotations

import itertools
import pickle
import time

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from minigrad.tokenizers import BPETokenizer, byte_pair_encode, compile_pattern
from minigrad.tokenizers import bpe as bpe_module
from minigrad.tokenizers.fast.encoder import CompiledMerger
from minigrad.tokenizers.merge import merge_heap, merge_small
from tests.tokenizers.bpe_support import (
    MULTILINGUAL,
    SPECIALS,
    tiktoken_for,
    tiktoken_of,
    trained,
    training_text,
)

PATTERNS = ["gpt2", "gpt4", "o200k"]

# Text that exercises the split patterns: astral characters, combining marks, whitespace runs,
# digits, contractions, and look-alikes of special tokens.
unicode_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)),  # no lone surrogates
    max_size=200,
)
tricky_text = st.lists(
    st.sampled_from(
        [
            "a",
            "Z",
            "é",
            "e\u0301",
            "क",
            "ि",
            "्",
            "中",
            "😀",
            "👍🏽",
            "𝔘",
            "٣",
            "1",
            "12345",
            " ",
            "  ",
            "\t",
            "\n",
            "\r\n",
            "\u00a0",
            "\u3000",
            "'s",
            "'LL",
            "!",
            "...",
            "<|",
            "|>",
            "<|endoftext|>",
            "<|endoftext",
            "endoftext|>",
            "<|pad|>",
            "_",
            "(",
            "\x00",
        ]
    ),
    max_size=40,
).map("".join)


# ---- round trips ------------------------------------------------------------------------------
@pytest.mark.nojit
@pytest.mark.parametrize("pattern", [*PATTERNS, None])
@given(text=st.one_of(unicode_text, tricky_text))
@example(text="")
@example(text="\U0001f600 \u0915\u093f\u0924\u093e\u092c  \n\n 123456 <|endoftext|>")
def test_round_trip(pattern, text):
    tok = trained(pattern)
    ids = tok.encode(text, disallowed_special=())
    assert all(isinstance(i, int) for i in ids)
    assert tok.decode_bytes(ids) == text.encode("utf-8")
    assert tok.decode(ids) == text
    assert tok.encode_ordinary(text) == ids


def test_round_trip_real_text():
    tok = trained("gpt4")
    ids = tok.encode(MULTILINGUAL)
    assert tok.decode(ids) == MULTILINGUAL
    assert len(ids) < len(MULTILINGUAL.encode())


# ---- parity with tiktoken -------------------------------------------------------------------
@pytest.mark.nojit
@pytest.mark.parametrize("pattern", PATTERNS)
@given(text=st.one_of(unicode_text, tricky_text))
@example(text="a" * 300 + "b" * 300)  # a long chunk: the heap path
def test_tiktoken_parity_arbitrary_text(pattern, text):
    pytest.importorskip("tiktoken")
    tok = trained(pattern)
    assert tok.encode_ordinary(text) == tiktoken_for(pattern).encode_ordinary(text)


@pytest.mark.parametrize("pattern", PATTERNS)
@given(text=st.one_of(unicode_text, tricky_text))
@example(text="x\ud800y \ud83d\ude00")  # lone surrogate, and a surrogate pair
def test_regex_path_equals_compiled_path(pattern, text):
    """The compiled scanner (used for built-in patterns) and the regex reference agree."""
    tok = trained(pattern)
    slow = BPETokenizer(tok.mergeable_ranks, pattern=pattern)
    slow._fast = None  # force the regex path
    assert slow.encode_ordinary(text) == tok.encode_ordinary(text)


@pytest.mark.parametrize("pattern", PATTERNS)
@given(text=st.one_of(unicode_text, tricky_text))
@example(text="the cat and the hat and the cat " * 20)
def test_chunk_encoder_cold_and_warm(pattern, text):
    """The compiled encode (``fast.chunk_encoder``) gives tiktoken's ids from a cold cache and
    again from the warm one, as a list and as an int64 array."""
    tok = trained(pattern)
    expected = tiktoken_for(pattern).encode_ordinary(text)
    tok.clear_cache()
    assert tok.encode_ordinary(text) == expected
    assert tok.encode_ordinary(text) == expected  # again, from the cache
    array = tok.encode_to_numpy(text, disallowed_special=())
    assert array.dtype == np.int64 and array.tolist() == expected


@pytest.mark.nojit
@given(
    data=st.binary(max_size=300).map(lambda b: bytes(x % 4 for x in b)),
    cuts=st.lists(st.integers(0, 300), max_size=60),
)
def test_distinct_chunks_kernel(data, cuts):
    from minigrad.tokenizers.fast.tables import add_chunks, entry_bytes, new_byte_table

    bounds = np.array(sorted({0, len(data), *(c for c in cuts if c <= len(data))}), np.int64)
    table, which = add_chunks(new_byte_table(4), np.frombuffer(data, np.uint8), bounds)
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds.tolist())]
    first: dict[bytes, int] = {}
    for j, c in enumerate(chunks):
        first.setdefault(c, len(first))
        assert which[j] == first[c]
    assert entry_bytes(table) == list(first)


@given(text=st.one_of(unicode_text, tricky_text))
def test_tiktoken_parity_custom_pattern(text):
    pytest.importorskip("tiktoken")
    tok = BPETokenizer(trained("gpt4").mergeable_ranks, pattern=r"\w+|\s+|[^\w\s]+")
    assert tok._fast is None  # custom patterns take the regex path
    assert tok.encode_ordinary(text) == tiktoken_of(tok).encode_ordinary(text)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_tiktoken_parity_real_text(pattern, stdlib_sample):
    pytest.importorskip("tiktoken")
    tok = trained(pattern)
    enc = tiktoken_for(pattern)
    for text in (MULTILINGUAL, stdlib_sample):
        assert tok.encode_ordinary(text) == enc.encode_ordinary(text)


@pytest.fixture(scope="module")
def stdlib_sample():
    """~200 KB of the standard library, beyond the part the test vocabulary was trained on."""
    from benchmarks.corpus import stdlib_corpus

    return stdlib_corpus(300_000)[100_000:]


@st.composite
def random_vocab(draw):
    """Rank tables made by gluing random pairs of tokens over a tiny alphabet, with shuffled byte
    ranks: far stranger than trained vocabularies, so every branch of the merge rule is hit."""
    alphabet = [b"a", b"b", b" ", "é".encode()[:1], "é".encode()[1:]]
    order = draw(st.permutations(range(256)))
    ranks = {bytes([b]): r for r, b in enumerate(order)}
    pool = list(alphabet)
    for _ in range(draw(st.integers(0, 40))):
        new = draw(st.sampled_from(pool)) + draw(st.sampled_from(pool))
        if new not in ranks:
            ranks[new] = len(ranks)
            pool.append(new)
    return ranks


def small(piece: bytes, ranks: dict[bytes, int]) -> list[int]:
    """The ids of ``merge_small``'s parts."""
    return [ranks[p] for p in merge_small(piece, ranks)]


@given(ranks=random_vocab(), text=st.text(alphabet="ab é\n", max_size=300))
def test_tiktoken_parity_random_vocab(ranks, text):
    pytest.importorskip("tiktoken")
    tok = BPETokenizer(ranks, pattern="gpt2")
    assert tok.encode_ordinary(text) == tiktoken_of(tok).encode_ordinary(text)
    piece = text.encode()
    if len(piece) > 1:
        assert merge_heap(piece, ranks) == small(piece, ranks)


@pytest.mark.nojit
@given(ranks=random_vocab(), data=st.binary(min_size=2, max_size=400))
def test_heap_merge_equals_simple_merge(ranks, data):
    data = bytes(b"ab \xc3\xa9"[x % 5] for x in data)
    expected = small(data, ranks)
    assert merge_heap(data, ranks) == expected
    merger = CompiledMerger(ranks)  # the numba kernel
    assert merger.encode_pieces([data, data[:7], b"", data[3:]]) == [
        expected,
        small(data[:7], ranks),
        [],
        byte_pair_encode(data[3:], ranks),
    ]


def test_surrogates_like_tiktoken():
    pytest.importorskip("tiktoken")
    tok = trained("gpt4")
    text = "a\ud800b \U0001f600\udfff \ud83d\ude00"  # lone surrogates, then a surrogate pair
    assert tok.encode(text) == tiktoken_for("gpt4").encode(text)
    assert tok.decode(tok.encode(text)) == "a\ufffdb \U0001f600\ufffd \U0001f600"
    assert tok.encode(text * 3) == tiktoken_for("gpt4").encode(text * 3)


# ---- BPE invariants of a trained vocabulary -------------------------------------------------
def test_trained_vocab_invariants():
    for pattern in PATTERNS:
        tok = trained(pattern)
        ranks = tok.mergeable_ranks
        for token, rank in ranks.items():
            if len(token) > 1:
                assert any(
                    ranks.get(token[:i], rank) < rank and ranks.get(token[i:], rank) < rank
                    for i in range(1, len(token))
                ), token
        text = MULTILINGUAL
        assert len(tok.encode(text)) <= len(text.encode())


@pytest.mark.nojit
def test_known_example():
    ranks = {bytes([i]): i for i in range(256)} | {b"aa": 256, b"aaa": 257, b"ab": 258}
    tok = BPETokenizer(ranks, pattern=None)
    # aa is the lowest pair; then aaa (257) beats ab (258)
    assert tok.encode("aaab") == [257, 98]
    # with ab ranked before aaa, the second step picks ab instead
    swapped = {bytes([i]): i for i in range(256)} | {b"aa": 256, b"ab": 257, b"aaa": 258}
    assert BPETokenizer(swapped, pattern=None).encode("aaab") == [256, 257]
    assert byte_pair_encode(b"aab", ranks) == [256, 98]
    assert tok.encode_to_numpy("aaab").dtype == np.int64


def test_train_classmethod():
    corpus = training_text()[:20_000]
    tok = BPETokenizer.train(corpus, 400, special_tokens=["<|endoftext|>", "<|pad|>"], name="t")
    n = len(tok.mergeable_ranks)
    assert 256 < n <= 398
    assert tok.special_tokens == {"<|endoftext|>": n, "<|pad|>": n + 1}
    assert tok.pattern == trained("gpt4").pattern and tok.name == "t"
    ranks = tok.mergeable_ranks
    for token, rank in ranks.items():  # BPE's invariant, for the fast trainer's output too
        if len(token) > 1:
            assert any(
                ranks.get(token[:i], rank) < rank and ranks.get(token[i:], rank) < rank
                for i in range(1, len(token))
            ), token
    ids = tok.encode(corpus + "<|pad|>", allowed_special="all")
    assert ids[-1] == n + 1
    assert len(ids) < len(corpus.encode())  # fewer tokens than bytes
    assert tok.decode(ids) == corpus + "<|pad|>"
    with pytest.raises(TypeError, match="sequence of str"):
        BPETokenizer.train(corpus, 400, special_tokens="<|pad|>")
    with pytest.raises(ValueError, match="duplicates"):
        BPETokenizer.train(corpus, 400, special_tokens=["<a>", "<a>"])


# ---- attributes, validation, errors ---------------------------------------------------------
def test_attributes():
    tok = trained("gpt4")
    assert tok.n_vocab == len(tok.mergeable_ranks) + len(SPECIALS)
    assert tok.special_tokens_set == set(SPECIALS)
    assert tok.pattern.startswith("'(?i:")
    assert "gpt4" in repr(tok)


@pytest.mark.parametrize(
    ("ranks", "specials", "exc", "match"),
    [
        ({bytes([i]): i for i in range(255)}, None, ValueError, "256 single bytes"),
        ({bytes([i]): i + 1 for i in range(256)}, None, ValueError, r"0\.\.255"),
        ({bytes([i]): 0 for i in range(256)}, None, ValueError, "duplicate"),
        ({**{bytes([i]): i for i in range(256)}, "x": 256}, None, TypeError, "bytes"),
        ({bytes([i]): i for i in range(256)}, {"<s>": 3}, ValueError, "already the rank"),
        ({bytes([i]): i for i in range(256)}, {"<s>": 256, "</s>": 256}, ValueError, "share"),
        ({bytes([i]): i for i in range(256)}, {"": 256}, TypeError, "non-empty"),
        ([1, 2], None, TypeError, "dict"),
    ],
)
def test_validation_errors(ranks, specials, exc, match):
    with pytest.raises(exc, match=match):
        BPETokenizer(ranks, special_tokens=specials)


def test_bad_arguments():
    tok = trained("gpt4")
    with pytest.raises(TypeError, match="str"):
        tok.encode(b"bytes")
    with pytest.raises(TypeError, match="allowed_special"):
        tok.encode("x", allowed_special="<|pad|>")
    with pytest.raises(TypeError, match="list of str"):
        tok.encode_batch("one string")
    with pytest.raises(ValueError, match="invalid split pattern"):
        BPETokenizer(tok.mergeable_ranks, pattern="(unclosed")


def test_unknown_ids():
    tok = trained("gpt4")
    for bad in (tok.n_vocab, -1, 10**9):
        with pytest.raises(KeyError, match=f"unknown token id {bad}"):
            tok.decode([104, bad])
        with pytest.raises(ValueError, match=f"unknown token id {bad}"):
            tok.decode_single_token_bytes(bad)
    with pytest.raises(TypeError, match="must be ints"):
        tok.decode(["a"])
    with pytest.raises(TypeError, match=r"must be ints, got \[1\]"):
        tok.decode([104, [1]])
    with pytest.raises(KeyError, match="unknown token id 99999"):
        tok.decode(i for i in [104, 99999])  # a generator: the message still names the id
    with pytest.raises(TypeError, match="iterable of token ids"):
        tok.decode(104)
    assert tok.decode(np.array([104, 105])) == "hi"


@pytest.mark.nojit
@pytest.mark.parametrize(
    "bad",
    [
        [65.0],
        [True],
        [104, False],
        [np.float64(65)],
        [np.bool_(True)],
        np.array([65.0]),
        np.array([True]),
        np.array([[104, 105]]),
    ],
)
def test_ids_must_be_integers(bad):
    # a dict lookup takes 65.0 and True for the ints they equal: they used to decode
    tok = trained("gpt4")
    with pytest.raises(TypeError, match="must be"):
        tok.decode(bad)
    with pytest.raises(TypeError, match="must be"):
        tok.decode_bytes(bad)
    with pytest.raises(TypeError, match="must be"):
        tok.streaming_decoder().feed(bad)
    with pytest.raises(TypeError, match="must be"):
        tok.decode(x for x in bad)


@pytest.mark.nojit
def test_integer_ids_of_every_kind_decode():
    tok = trained("gpt4")
    ids = tok.encode("hi there")
    for kind in (np.int64, np.int32, np.uint16, np.uint64):
        assert tok.decode(np.array(ids, dtype=kind)) == "hi there"
        assert tok.decode([kind(i) for i in ids]) == "hi there"
    assert tok.decode(tuple(ids)) == tok.decode(i for i in ids) == "hi there"
    for bad in (65.0, True, np.float32(65), "A"):
        with pytest.raises(TypeError, match="must be ints"):
            tok.decode_single_token_bytes(bad)
        with pytest.raises(TypeError, match=r"must be ints|iterable of token ids"):
            tok.streaming_decoder().feed(bad)
    assert tok.decode_single_token_bytes(np.int64(65)) == b"A"


@given(texts=st.lists(st.one_of(unicode_text, tricky_text), max_size=8))
@example(texts=["x\ud800", "", "a b", "<|endoftext|>"])
def test_batch_equals_one_by_one(texts):
    pytest.importorskip("tiktoken")
    tok = trained("gpt4")
    expected = [tiktoken_for("gpt4").encode_ordinary(t) for t in texts]
    assert tok.encode_ordinary_batch(texts) == expected
    assert tok.encode_batch(texts, disallowed_special=()) == expected


def test_batch_and_single_token():
    tok = trained("gpt4")
    texts = ["hello world", "", MULTILINGUAL]
    assert tok.encode_batch(texts) == [tok.encode(t) for t in texts]
    assert tok.encode_ordinary_batch(texts) == [tok.encode_ordinary(t) for t in texts]
    assert tok.decode_batch(tok.encode_batch(texts)) == texts
    assert tok.encode_single_token("<|pad|>") == tok.special_tokens["<|pad|>"]
    assert tok.encode_single_token(b"a") == tok.mergeable_ranks[b"a"]
    with pytest.raises(KeyError, match="not a single token"):
        tok.encode_single_token("certainly not one token at all")


# ---- pickling, cache ------------------------------------------------------------------------
def test_pickle_rebuilds_compiled_state():
    tok = trained("o200k")
    text = MULTILINGUAL + " <|endoftext|>"
    tok.encode_ordinary(text)  # fill the cache; it must not travel
    clone = pickle.loads(pickle.dumps(tok))
    assert clone == tok
    assert clone._cache == {}
    assert clone._regex is compile_pattern(tok.pattern)  # the pinned compile, shared
    assert clone.encode(text, allowed_special="all") == tok.encode(text, allowed_special="all")


def test_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(bpe_module, "CACHE_CAPACITY", 8)
    tok = BPETokenizer(trained("gpt4").mergeable_ranks)
    tok._fast = None  # the per-chunk path and its dict (the compiled one: test_chunk_encoder)
    text = " ".join(f"w{i}" for i in range(100))
    first = tok.encode(text)
    assert 0 < len(tok._cache) <= 8
    assert tok.encode(text) == first


# ---- pathological inputs --------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "a" * 1_000_000,
        "".join(chr(97 + (i * 7919) % 26) for i in range(1_000_000)),  # 1 MB chunk, no spaces
        " " * 200_000 + "x",
        "1" * 300_000,
    ],
    ids=["a*1e6", "letters-1MB", "spaces", "digits"],
)
def test_pathological_inputs_are_fast(text):
    ranks = {bytes([i]): i for i in range(256)}
    for k in range(1, 11):
        ranks[b"a" * 2**k] = len(ranks)
    for token in trained("gpt4").mergeable_ranks:
        ranks.setdefault(token, len(ranks))
    tok = BPETokenizer(ranks)
    start = time.perf_counter()
    ids = tok.encode(text)
    elapsed = time.perf_counter() - start
    assert tok.decode(ids) == text
    assert elapsed < 15, f"{elapsed:.1f} s"
