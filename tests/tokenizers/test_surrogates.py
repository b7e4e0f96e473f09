"""One lone-surrogate policy in every path: tiktoken's (``pretokenize.replace_surrogates``).

A Python ``str`` may hold surrogate code points that UTF-8 cannot encode.  Encoding replaced
them (as tiktoken does), the compiled pre-tokenizer passed them through as 3-byte sequences, and
the chunk counter rejected them, so training and encoding saw different text.  Now every path
replaces them first: a lone surrogate becomes U+FFFD, a high + low pair the character it spells.
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from minigrad.tokenizers import BPETokenizer
from minigrad.tokenizers.corpus import count_chunks
from minigrad.tokenizers.fast.pretokenize import chunk_bounds, split_fast, utf8_chunk_bounds
from minigrad.tokenizers.naive_trainer import train_naive
from minigrad.tokenizers.pretokenize import split, split_reference
from minigrad.tokenizers.trainer import count_chunk_bytes, train_bpe
from tests.tokenizers.bpe_support import tiktoken_for, trained

PATTERNS = ["gpt2", "gpt4", "o200k"]
CUSTOM = r"\w+|\s+|[^\w\s]+"


#: what tiktoken's encode does to a str before anything else
def tiktoken_fix(text: str) -> str:
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


SAMPLES = [
    "a\ud800b",
    "x\udfff\udfff y",
    "\ud83d\ude00 pair \ud83d",
    "lone \udc80 at the end \ud800",
    "mixed \ud83d\ude00\udfff\ud800\udc00 é",
]
with_surrogates = st.lists(
    st.one_of(st.sampled_from(["\ud800", "\udfff", "\ud83d\ude00", "\ud83d", "a", " ", "é"]),
              st.text(max_size=3)),
    max_size=20,
).map("".join)  # fmt: skip


@pytest.mark.nojit
@pytest.mark.parametrize("text", SAMPLES)
def test_the_pretokenizer_replaces_surrogates(text):
    fixed = tiktoken_fix(text)
    for name in PATTERNS:
        want = split_reference(fixed, name)
        assert split_fast(text, name) == want  # used to keep the surrogates
        assert split(text, name) == want
        assert split_reference(text, name) == want
        assert utf8_chunk_bounds(text, name)[0] == fixed.encode("utf-8")
        b = chunk_bounds(text, name).tolist()
        assert [fixed[x:y] for x, y in pairwise(b)] == want
    assert split(text, CUSTOM) == split_reference(fixed, CUSTOM)
    assert split(text, None) == [fixed]


@pytest.mark.nojit
@pytest.mark.parametrize("text", SAMPLES)
def test_chunk_counting_replaces_surrogates(text):
    for pattern in [*PATTERNS, CUSTOM, None]:
        want = count_chunks(tiktoken_fix(text), pattern)
        assert count_chunks(text, pattern) == want
        arena, start, length, count = count_chunk_bytes(text, pattern, ())  # used to raise
        got = {arena[s : s + n].tobytes().decode(): int(c) for s, n, c in zip(start, length, count)}
        assert got == want


@given(text=with_surrogates, pattern=st.sampled_from([*PATTERNS, CUSTOM, None]))
@example(text="\ud800\ud800\ud800 ab ab \ud83d\ude00\ud83d\ude00", pattern="gpt4")
def test_training_sees_the_text_encoding_sees(text, pattern):
    fixed = tiktoken_fix(text)
    try:
        want = train_naive(fixed, 300, pattern=pattern, min_frequency=1)
    except ValueError:  # no text at all
        return
    assert train_naive(text, 300, pattern=pattern, min_frequency=1) == want
    assert train_bpe(text, 300, pattern=pattern, min_frequency=1) == want  # used to raise


def test_encode_replaces_surrogates_in_every_path():
    pytest.importorskip("tiktoken")
    for pattern in PATTERNS:
        tok, enc = trained(pattern), tiktoken_for(pattern)
        for text in SAMPLES:
            want = enc.encode(text)
            assert tok.encode(text) == want
            assert tok.encode_ordinary(text) == want
            assert tok.encode_to_numpy(text).tolist() == want
            assert tok.encode_ordinary_batch([text, text * 300]) == [want, enc.encode(text * 300)]
            with_special = text + "<|endoftext|>" + text
            assert tok.encode(with_special, allowed_special="all") == enc.encode(
                with_special, allowed_special="all"
            )
    custom = BPETokenizer(trained("gpt4").mergeable_ranks, pattern=CUSTOM)
    for text in SAMPLES:
        assert custom.encode(text) == custom.encode(tiktoken_fix(text))


@pytest.mark.nojit
def test_special_tokens_cannot_hold_surrogates():
    ranks = {bytes([i]): i for i in range(256)}
    with pytest.raises(ValueError, match="surrogate"):
        BPETokenizer(ranks, special_tokens={"<\ud800>": 256})
    with pytest.raises(ValueError, match="surrogate"):
        BPETokenizer.train("abc abc", 300, special_tokens=["<\ud800>"])
