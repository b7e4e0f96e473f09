"""StreamingDecoder: any id sequence, fed in any split, gives exactly ``decode`` of the whole."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from minigrad.tokenizers import StreamingDecoder
from tests.tokenizers.bpe_support import MULTILINGUAL, trained


@st.composite
def ids_and_cuts(draw):
    tok = trained("gpt4")
    n = tok.n_vocab
    # mostly single bytes >= 0x80 (continuation and lead bytes), so characters get cut apart
    one = st.one_of(st.integers(0x80, 0xFF), st.integers(0, n - 1))
    source = draw(st.sampled_from(["random", "text"]))
    if source == "random":
        ids = draw(st.lists(one, max_size=60))
    else:
        text = draw(st.text(max_size=60))
        ids = [b for b in text.encode("utf-8", "surrogatepass")]  # byte ids: split characters
    cuts = sorted(draw(st.lists(st.integers(0, len(ids)), max_size=8)))
    return ids, cuts


@pytest.mark.nojit
@given(ids_and_cuts())
@example(([0xC3, 0xA9], [1]))
@example(([0xF0, 0x9F, 0x98, 0x80, 0xFF, 0xF0, 0x9F], [1, 2, 3, 5, 6]))
def test_stream_equals_decode(case):
    ids, cuts = case
    tok = trained("gpt4")
    dec = StreamingDecoder(tok)
    pieces = []
    bounds = [0, *cuts, len(ids)]
    for a, b in itertools.pairwise(bounds):
        chunk = ids[a:b]
        pieces.append(dec.feed(chunk[0]) if len(chunk) == 1 else dec.feed(chunk))
    pieces.append(dec.flush())
    assert "".join(pieces) == tok.decode(ids)


def test_holds_back_incomplete_character():
    tok = trained("gpt4")
    dec = tok.streaming_decoder()
    assert dec.feed(tok.encode("caf")) == "caf"
    assert dec.feed(0xC3) == ""  # the first byte of "é" (byte ranks equal byte values here)
    assert dec.pending == b"\xc3"
    assert dec.feed(0xA9) == "é"
    assert dec.pending == b""
    assert dec.feed(0xF0) == ""
    assert dec.flush() == "\ufffd"  # never completed
    assert dec.feed(tok.encode("ok")) == "ok"  # flush reset the stream


def test_one_id_at_a_time_on_real_text():
    tok = trained("o200k")
    ids = tok.encode(MULTILINGUAL)
    dec = StreamingDecoder(tok)
    out = [dec.feed(i) for i in ids]
    assert "".join(out) + dec.flush() == MULTILINGUAL
    # the output never contains a replacement character made by cutting a character
    assert "\ufffd" not in "".join(out)


def test_errors():
    tok = trained("gpt4")
    with pytest.raises(LookupError):
        StreamingDecoder(tok, errors="no-such-handler")
    dec = StreamingDecoder(tok)
    with pytest.raises(KeyError, match="unknown token id"):
        dec.feed(10**9)
    strict = StreamingDecoder(tok, errors="strict")
    with pytest.raises(UnicodeDecodeError):
        strict.feed([0xFF])
