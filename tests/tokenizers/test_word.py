"""The seed's toy WordTokenizer."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.tokenizers import WordTokenizer


@pytest.mark.nojit
def test_seed_example():
    tok = WordTokenizer.from_text("I love AI")
    assert tok.tokenize("I love AI") == ["I", "love", "AI"]
    assert tok.encode("I love AI") == [0, 1, 2]
    assert tok.decode([0, 1, 2]) == "I love AI"
    assert tok.n_vocab == len(tok) == 3


def test_ids_by_first_appearance():
    tok = WordTokenizer.from_text("the cat saw the dog\nthe  end")
    assert tok.id_to_token == ["the", "cat", "saw", "dog", "end"]
    assert tok.encode("dog the") == [3, 0]
    tok.add_words(["new", "the"])
    assert tok.token_to_id["new"] == 5 and tok.n_vocab == 6


def test_errors():
    tok = WordTokenizer(["I", "love", "AI"])
    with pytest.raises(KeyError, match="unknown word 'robots'"):
        tok.encode("I love robots")
    with pytest.raises(ValueError, match="unknown token id 3"):
        tok.decode([0, 3])
    with pytest.raises(KeyError, match="unknown token id -1"):
        tok.decode([-1])
    with pytest.raises(ValueError, match="must be ints"):
        tok.decode(["I"])
    with pytest.raises(TypeError, match="from_text"):
        WordTokenizer("I love AI")
    with pytest.raises(ValueError, match="without whitespace"):
        WordTokenizer(["two words"])
    with pytest.raises(TypeError):
        tok.encode(b"bytes")


@given(st.lists(st.text(alphabet="abcé中 \n", min_size=1, max_size=6), max_size=20).map(" ".join))
def test_round_trip_normalises_whitespace(text):
    tok = WordTokenizer.from_text(text)
    assert tok.decode(tok.encode(text)) == " ".join(text.split())
