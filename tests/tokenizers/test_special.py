"""Special tokens: tiktoken's allowed/disallowed policy, checked against tiktoken itself."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.tokenizers.bpe_support import SPECIALS, tiktoken_for, trained

fragments = st.lists(
    st.sampled_from([*SPECIALS, "<|", "|>", "endoftext", "hello", " ", "\n", "é", "<|pad", "|"]),
    max_size=12,
).map("".join)
policies = st.sampled_from(["all", frozenset(), *(frozenset([s]) for s in SPECIALS)])
disallowed_policies = st.sampled_from(
    ["all", (), frozenset(["<|pad|>"]), frozenset(["hello"]), frozenset(SPECIALS)]
)


def _outcome(fn):
    try:
        return fn()
    except ValueError:
        return ValueError


@pytest.mark.nojit
@given(text=fragments, allowed=policies, disallowed=disallowed_policies)
@example(text="a<|endoftext|>b<|pad|>", allowed="all", disallowed="all")
@example(text="<|pad|>", allowed=frozenset(), disallowed=())
def test_policy_matches_tiktoken(text, allowed, disallowed):
    pytest.importorskip("tiktoken")
    tok = trained("gpt4")
    enc = tiktoken_for("gpt4")
    ours = _outcome(
        lambda: tok.encode(text, allowed_special=allowed, disallowed_special=disallowed)
    )
    theirs = _outcome(
        lambda: enc.encode(text, allowed_special=allowed, disallowed_special=disallowed)
    )
    assert ours == theirs


def test_defaults():
    tok = trained("gpt4")
    eot = tok.special_tokens["<|endoftext|>"]
    with pytest.raises(ValueError, match=r"'<\|endoftext\|>'"):
        tok.encode("hi <|endoftext|>")
    assert tok.encode("hi<|endoftext|>", allowed_special="all")[-1] == eot
    assert tok.encode("hi<|endoftext|>", allowed_special={"<|endoftext|>"})[-1] == eot
    plain = tok.encode("<|endoftext|>", disallowed_special=())
    assert eot not in plain
    assert plain == tok.encode_ordinary("<|endoftext|>")
    # allowing one special still forbids the others by default
    with pytest.raises(ValueError, match="pad"):
        tok.encode("<|endoftext|><|pad|>", allowed_special={"<|endoftext|>"})


@given(text=fragments)
def test_special_round_trip(text):
    tok = trained("gpt4")
    ids = tok.encode(text, allowed_special="all")
    assert tok.decode(ids) == text
    assert ids.count(tok.special_tokens["<|pad|>"]) == text.count("<|pad|>")


def test_decode_special_ids():
    tok = trained("gpt4")
    ids = [tok.special_tokens[s] for s in SPECIALS]
    assert tok.decode(ids) == "".join(SPECIALS)
    assert tok.decode_single_token_bytes(ids[0]) == b"<|endoftext|>"


def test_overlapping_specials_longest_wins():
    from minigrad.tokenizers import BPETokenizer

    ranks = {bytes([i]): i for i in range(256)}
    tok = BPETokenizer(ranks, special_tokens={"<a>": 256, "<a>b": 257})
    assert tok.encode("<a>b<a>", allowed_special="all") == [257, 256]


def test_encode_batch_policy():
    pytest.importorskip("tiktoken")
    tok = trained("gpt4")
    enc = tiktoken_for("gpt4")
    texts = ["a<|pad|>b", "plain", "", "<|endoftext|>" * 3]
    with pytest.raises(ValueError, match="pad"):
        tok.encode_batch(texts)
    for allowed in ("all", {"<|pad|>", "<|endoftext|>"}):
        assert tok.encode_batch(texts, allowed_special=allowed) == [
            enc.encode(t, allowed_special=allowed) for t in texts
        ]
