"""BPE training: the fast trainer against the naive oracle, BPE invariants, files, errors.

The numba kernels are compared with their plain-Python references in ``test_trainer_kernels.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from minigrad.tokenizers.corpus import count_chunks
from minigrad.tokenizers.naive_trainer import train_naive
from minigrad.tokenizers.pretokenize import split
from minigrad.tokenizers.trainer import count_chunk_bytes, train_bpe

PATTERNS = ["gpt2", "gpt4", "o200k", None]
SPECIAL = "<|endoftext|>"

# Pieces that make runs ("aaaa"), ties (several pairs with one count), contractions, digits,
# whitespace of every kind, multi-byte UTF-8 (2, 3 and 4 bytes, combining marks) and specials.
PIECES = [
    "a", "aa", "aaaa", "b", "ab", "ba", " ", "  ", "\n", "\r\n", "\t", "x", "'s", "'ll", "1",
    "12345", "é", "e\u0301", "日本", "🙂", "ñ", "A", ".", "!!", SPECIAL, "<|", " the", "The",
]  # fmt: skip

text_st = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), max_size=40).map(
    "".join
)
corpus_st = st.one_of(text_st, st.lists(text_st, min_size=1, max_size=4))


def _train_both(corpus, vocab_size, **kw):
    try:
        want = train_naive(corpus, vocab_size, **kw)
    except ValueError:
        with pytest.raises(ValueError):
            train_bpe(corpus, vocab_size, **kw)
        return None, None
    return train_bpe(corpus, vocab_size, **kw), want


@settings(max_examples=max(150, settings.default.max_examples // 2))
@given(
    corpus=corpus_st,
    pattern=st.sampled_from(PATTERNS),
    extra=st.integers(0, 60),
    min_frequency=st.integers(0, 3),
    specials=st.sampled_from([(), (SPECIAL,), (SPECIAL, "<|pad|>")]),
)
@example(corpus="aaaaa", pattern=None, extra=5, min_frequency=1, specials=())
@example(corpus="aaab aab", pattern=None, extra=3, min_frequency=1, specials=())  # a tie
@example(corpus="ab ab ba ba", pattern="gpt4", extra=10, min_frequency=1, specials=())
@example(corpus=["aaaa", "aaa", "aa"], pattern=None, extra=10, min_frequency=1, specials=())
@example(
    corpus=f"a{SPECIAL}a a{SPECIAL}", pattern="gpt2", extra=9, min_frequency=1, specials=(SPECIAL,)
)
@example(
    corpus="  \n\n  \t 🙂🙂🙂 e\u0301e\u0301",
    pattern="o200k",
    extra=30,
    min_frequency=0,
    specials=(),
)
# long runs of one token, the case the merge windows used to walk in quadratic time
@example(corpus="=" * 5000, pattern="gpt4", extra=40, min_frequency=2, specials=())
@example(corpus="=" * 4097 + "x" + "=" * 333, pattern=None, extra=40, min_frequency=1, specials=())
@example(
    corpus=["ab" * 700, "aab" * 300 + "b"], pattern=None, extra=60, min_frequency=1, specials=()
)
@example(
    corpus=" " * 3001 + "x" + "é" * 999, pattern="o200k", extra=50, min_frequency=2, specials=()
)
@example(corpus="a" * 65 + "b" + "a" * 64, pattern=None, extra=20, min_frequency=1, specials=())
def test_fast_trainer_matches_naive(corpus, pattern, extra, min_frequency, specials):
    vocab = 256 + len(specials) + extra
    got, want = _train_both(
        corpus, vocab, pattern=pattern, min_frequency=min_frequency, special_tokens=specials
    )
    assert got == want
    if got is not None:
        assert list(got.values()) == list(range(len(got)))  # ranks in merge order, no gaps
        assert len(got) <= vocab - len(specials)


def test_matches_naive_on_real_text():
    text = Path(__file__).read_text(encoding="utf-8")
    for pattern in PATTERNS[:3]:
        assert train_bpe(text, 400, pattern=pattern) == train_naive(text, 400, pattern=pattern)


def test_matches_naive_on_long_words():
    """Words longer than the insertion-sort cutoff, with long runs: the Shell-sort path."""
    corpus = ["abcab" * 40 + "a" * 61 + "b" * 30, "ba" * 50 + "ab" * 49, "é" * 45]
    for min_frequency in (1, 2):
        kw = {"pattern": None, "min_frequency": min_frequency}
        assert train_bpe(corpus, 330, **kw) == train_naive(corpus, 330, **kw)


def test_vocab_size_reached_exactly():
    text = Path(__file__).read_text(encoding="utf-8")
    ranks = train_bpe(text, 300, special_tokens=[SPECIAL])
    assert len(ranks) == 300 - 1
    assert sorted(ranks.values()) == list(range(299))
    assert all(ranks[bytes([i])] == i for i in range(256))


def test_min_frequency_stops_early():
    """Documented: when no pair reaches min_frequency, fewer ranks than vocab_size come back."""
    ranks = train_bpe("abcd abcd", 1000, pattern=None, min_frequency=2)
    assert len(ranks) < 1000
    assert b"abcd abcd" not in ranks  # every pair occurs once inside the only chunk
    assert train_bpe("abcd abcd", 1000, pattern="gpt4", min_frequency=2) == train_naive(
        "abcd abcd", 1000, pattern="gpt4", min_frequency=2
    )
    assert len(train_bpe("ab", 1000, min_frequency=1)) == 257
    assert len(train_bpe("a", 1000)) == 256  # no pair at all


def _encode(ranks: dict[bytes, int], chunk: bytes) -> list[bytes]:
    """Reference encode: keep merging the adjacent pair whose concatenation has the lowest rank."""
    parts = [bytes([b]) for b in chunk]
    while len(parts) > 1:
        best = min(range(len(parts) - 1), key=lambda i: ranks.get(parts[i] + parts[i + 1], 1e18))
        if parts[best] + parts[best + 1] not in ranks:
            break
        parts[best : best + 2] = [parts[best] + parts[best + 1]]
    return parts


@given(corpus=text_st, pattern=st.sampled_from(PATTERNS), extra=st.integers(1, 80))
def test_bpe_invariants(corpus, pattern, extra):
    try:
        ranks = train_bpe(corpus, 256 + extra, pattern=pattern, min_frequency=1)
    except ValueError:
        return  # empty corpus
    by_rank = sorted(ranks, key=ranks.get)
    for tok in by_rank[256:]:
        r = ranks[tok]
        assert any(
            ranks.get(tok[:i], r) < r and ranks.get(tok[i:], r) < r for i in range(1, len(tok))
        ), f"{tok!r} is not two tokens of lower rank"
    n_tokens = sum(len(_encode(ranks, c.encode())) for c in split(corpus, pattern))
    assert n_tokens <= len(corpus.encode())


def test_special_tokens_never_merged():
    text = f"hello{SPECIAL}hello{SPECIAL}{SPECIAL}" * 5
    ranks = train_bpe(text, 400, special_tokens=[SPECIAL], min_frequency=1)
    assert not any(b"<|" in tok or b"|>" in tok for tok in ranks)
    # without declaring it, the special's pieces are ordinary text and do get merged
    assert any(b"<|" in tok for tok in train_bpe(text, 400, min_frequency=1))


# ---- files and streaming ------------------------------------------------------------------


@given(text=text_st, pattern=st.sampled_from(["gpt2", "gpt4", "o200k"]), block=st.integers(1, 9))
@example(text="ab cd  ef\n gh i", pattern="gpt2", block=1)
@example(text="it's  a b\r\n c", pattern="gpt4", block=2)
@example(text="x\nab.\nab \nab\r\nab:\n/a", pattern="o200k", block=1)
@example(text="a \n\nb\n  c\nd", pattern="gpt2", block=1)
def test_streaming_cuts_like_whole_file(tmp_path_factory, text, pattern, block):
    """Reading a file in tiny blocks gives exactly the chunks of splitting it at once."""
    path = tmp_path_factory.mktemp("s") / "f.txt"
    path.write_text(text, encoding="utf-8", newline="")
    try:
        want = count_chunks(text, pattern, (SPECIAL,))
    except ValueError:
        return
    assert count_chunks(path, pattern, (SPECIAL,), block_chars=block) == want


@pytest.mark.nojit
@given(corpus=corpus_st, pattern=st.sampled_from(PATTERNS))
@example(corpus=["ab ab", "ab", "b a"], pattern="gpt4")
def test_byte_chunk_counter_matches_counter(corpus, pattern):
    """The compiled scanner + numba table count exactly what regex + Counter count."""
    try:
        want = count_chunks(corpus, pattern, (SPECIAL,))
    except ValueError:
        with pytest.raises(ValueError):
            count_chunk_bytes(corpus, pattern, (SPECIAL,))
        return
    arena, start, length, count = count_chunk_bytes(corpus, pattern, (SPECIAL,))
    got = {arena[s : s + n].tobytes(): int(c) for s, n, c in zip(start, length, count)}
    assert got == {k.encode(): v for k, v in want.items()}
    assert len(got) == len(start)  # each distinct chunk once
    assert start.tolist() == np.cumsum([0, *length.tolist()])[:-1].tolist()  # back to back


def test_special_with_space_not_cut(tmp_path):
    special = "<|end of\ntext|>"
    text = f"some words {special} more words{special}and end" * 3
    path = tmp_path / "f.txt"
    path.write_text(text, encoding="utf-8")
    for block in range(1, 12):
        assert count_chunks(path, "gpt4", (special,), block_chars=block) == count_chunks(
            text, "gpt4", (special,)
        )


def test_files_equal_strings_and_order_free(tmp_path):
    here = Path(__file__).read_text(encoding="utf-8")
    texts = [here[:3000], here[3000:6000], "x" * 50 + " é🙂 \r\n\t" * 20]
    paths = []
    for i, t in enumerate(texts):
        p = tmp_path / f"{i}.txt"
        p.write_text(t, encoding="utf-8", newline="")
        paths.append(p)
    want = train_bpe(texts, 600)
    assert train_bpe(paths, 600) == want
    assert train_bpe(paths[::-1], 600) == want
    assert train_bpe([paths[2], texts[0], paths[1]], 600) == want
    assert train_bpe(str(paths[0]), 300) != train_bpe(paths[0], 300)  # a str is text, not a path


def test_none_pattern_reads_a_file_as_one_chunk(tmp_path):
    p = tmp_path / "f.txt"
    p.write_text("ab ab\nab ab", encoding="utf-8")
    assert count_chunks(p, None, block_chars=2) == {"ab ab\nab ab": 1}


def test_same_ranks_under_another_hash_seed():
    code = (
        "import sys; from minigrad.tokenizers.trainer import train_bpe; "
        "t = 'the cat sat on the mat; the dog ate the cat food ' * 20 + 'aaaa bbbb abab'; "
        "print(sorted(train_bpe(t, 320, min_frequency=1).items(), key=lambda kv: kv[1]))"
    )
    root = Path(__file__).resolve().parents[2]
    outs = set()
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)}
        r = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        outs.add(r.stdout)
    assert len(outs) == 1


def test_progress_bar_same_result(capsys):
    text = Path(__file__).read_text(encoding="utf-8")
    assert train_bpe(text, 900, show_progress=True) == train_bpe(text, 900)
    assert "merge" in capsys.readouterr().err


# ---- errors -------------------------------------------------------------------------------


@pytest.mark.nojit
def test_errors(tmp_path):
    with pytest.raises(ValueError, match="at least 256"):
        train_bpe("abc", 255)
    with pytest.raises(ValueError, match="258"):
        train_bpe("abc", 257, special_tokens=["<a>", "<b>"])
    for empty in ("", [], [""], SPECIAL * 3):
        with pytest.raises(ValueError, match="no text"):
            train_bpe(empty, 300, special_tokens=[SPECIAL])
        with pytest.raises(ValueError, match="no text"):
            train_naive(empty, 300, special_tokens=[SPECIAL])
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"caf\xe9 au lait")
    with pytest.raises(ValueError, match=r"latin1\.txt.*UTF-8"):
        train_bpe([bad], 300)
    with pytest.raises(TypeError, match="bytes"):
        train_bpe(b"abc", 300)
    with pytest.raises(TypeError, match="int"):
        train_bpe(["abc", 3], 300)
    with pytest.raises(TypeError, match="one str"):
        train_bpe("abc", 300, special_tokens=SPECIAL)
    with pytest.raises(ValueError, match="distinct"):
        train_bpe("abc", 300, special_tokens=[SPECIAL, SPECIAL])
    with pytest.raises(ValueError, match="min_frequency"):
        train_bpe("abc", 300, min_frequency=-1)
    with pytest.raises(TypeError, match="vocab_size"):
        train_bpe("abc", 300.0)
    with pytest.raises(ValueError, match="surrogate"):  # text gets U+FFFD, a special cannot
        train_bpe("abc", 300, special_tokens=["<\ud800>"])
    with pytest.raises(ValueError, match="invalid split pattern"):
        train_bpe("abc", 300, pattern="(")
