"""The parts of tiktoken's ``Encoding`` API its users reach for (issue 18, point 2), each checked
against tiktoken itself: ``encode_single_token`` (bytes of special tokens included),
``eot_token``, ``max_token_value``, ``is_special_token``, ``decode_with_offsets`` and ``name``.

The tests that need no peer run always; the differential ones skip without tiktoken.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from minigrad.tokenizers import BPETokenizer, UnknownTokenError
from minigrad.tokenizers.offsets import char_offsets
from tests.tokenizers.bpe_support import SPECIALS, tiktoken_of, trained

BYTES = {bytes([i]): i for i in range(256)}


def need_tiktoken():
    return pytest.importorskip("tiktoken", reason="tiktoken (the 'compare' extra) is absent")


def with_pieces(pieces: list[bytes], specials: dict[str, int] | None = None) -> BPETokenizer:
    """The 256 bytes, then ``pieces`` (deduplicated, in order) as further tokens."""
    ranks = dict(BYTES)
    for p in pieces:
        ranks.setdefault(p, len(ranks))
    return BPETokenizer(ranks, pattern="gpt4", special_tokens=specials)


@st.composite
def cut_vocabularies(draw) -> BPETokenizer:
    """Tokens cut out of the UTF-8 of some text at any byte, so many tokens start or end inside
    a character; and a special token or two, "<|endoftext|>" among them."""
    source = draw(st.text(min_size=1, max_size=30)).encode("utf-8")
    pieces = []
    for _ in range(draw(st.integers(0, 12))):
        i = draw(st.integers(0, len(source) - 1))
        j = draw(st.integers(i + 1, min(len(source), i + 6)))
        if j - i >= 2:
            pieces.append(source[i:j])
    n = 256 + len(set(pieces))
    return with_pieces(pieces, {"<|endoftext|>": n, "<|x|>": n + 2})


# ---- encode_single_token ----------------------------------------------------------------------
@pytest.mark.nojit
def test_encode_single_token_finds_specials_by_bytes():
    tok = trained("gpt4")
    for text in SPECIALS:
        idx = tok.special_tokens[text]
        assert tok.encode_single_token(text) == idx
        assert tok.encode_single_token(text.encode()) == idx  # used to raise UnknownTokenError
        assert tok.encode_single_token(bytearray(text.encode())) == idx
        assert tok.encode_single_token(tok.decode_single_token_bytes(idx)) == idx


@pytest.mark.nojit
def test_encode_single_token_rejects_other_types():
    tok = trained("gpt4")
    for bad in (1, 5, None, [104], 1.0):  # bytes(1) would be b"\x00": token 0, silently
        with pytest.raises(TypeError, match="str or bytes"):
            tok.encode_single_token(bad)  # type: ignore[arg-type]
    with pytest.raises(UnknownTokenError, match="not a single token"):
        tok.encode_single_token(b"<|endoftext|")
    with pytest.raises(KeyError):
        tok.encode_single_token("certainly not one token")


def test_encode_single_token_as_tiktoken():
    need_tiktoken()
    tok = trained("gpt4")
    enc = tiktoken_of(tok)
    probes = [*SPECIALS, *(t.encode() for t in SPECIALS), *list(tok.mergeable_ranks)[250:400]]
    probes += [t.decode() for t in list(tok.mergeable_ranks)[256:400] if t.isascii()]
    for probe in probes:
        assert tok.encode_single_token(probe) == enc.encode_single_token(probe), probe
    for missing in ("certainly not one token", b"<|endoftext|", b"\xff\xfe\xfd"):
        with pytest.raises(KeyError):
            enc.encode_single_token(missing)
        with pytest.raises(KeyError):
            tok.encode_single_token(missing)


def test_special_spelled_like_an_ordinary_token_as_tiktoken():
    # tiktoken looks a str up by its bytes, ordinary tokens first: "hi" is the rank, not the
    # special (minigrad used to answer the special's id for the str)
    tiktoken = need_tiktoken()
    tok = with_pieces([b"hi"], {"hi": 257, "<|endoftext|>": 258})
    enc = tiktoken_of(tok)
    assert isinstance(enc, tiktoken.Encoding)
    for probe in ("hi", b"hi", "<|endoftext|>"):
        assert tok.encode_single_token(probe) == enc.encode_single_token(probe)
    assert tok.encode_single_token("hi") == 256


# ---- eot_token, max_token_value, is_special_token ----------------------------------------------
@pytest.mark.nojit
def test_eot_and_max_token_value():
    tok = trained("gpt4")
    assert tok.eot_token == tok.special_tokens["<|endoftext|>"]
    assert tok.max_token_value == max(tok.special_tokens.values()) == tok.n_vocab - 1
    plain = BPETokenizer(dict(BYTES))
    assert plain.max_token_value == 255
    with pytest.raises(KeyError, match="no '<\\|endoftext\\|>' special token"):
        plain.eot_token  # noqa: B018
    assert tok.is_special_token(tok.eot_token) and not tok.is_special_token(0)
    with pytest.raises(TypeError):
        tok.is_special_token(1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "specials",
    [{}, {"<|endoftext|>": 256}, {"<|x|>": 256, "<|endoftext|>": 260}, {"<|fim|>": 270}],
)
def test_eot_max_and_specials_as_tiktoken(specials):
    need_tiktoken()
    tok = BPETokenizer(dict(BYTES), special_tokens=specials)
    enc = tiktoken_of(tok)
    assert tok.max_token_value == enc.max_token_value
    assert tok.n_vocab == enc.n_vocab
    assert tok.special_tokens_set == enc.special_tokens_set
    for idx in (0, 255, 256, 260, 270):
        assert tok.is_special_token(idx) == enc.is_special_token(idx)
    if "<|endoftext|>" in specials:
        assert tok.eot_token == enc.eot_token
    else:
        with pytest.raises(KeyError):
            enc.eot_token  # noqa: B018
        with pytest.raises(KeyError):
            tok.eot_token  # noqa: B018


# ---- decode_with_offsets ------------------------------------------------------------------------
@pytest.mark.nojit
def test_char_offsets_worked_example():
    # "aé你😀" with é cut after its first byte and 你 after its second
    tokens = [b"a\xc3", b"\xa9\xe4\xbd", b"\xa0", b"\xf0\x9f\x98\x80"]
    assert char_offsets(tokens) == [0, 1, 2, 3]
    assert char_offsets([b"\xa9"]) == [0]  # a continuation byte first: never below 0
    assert char_offsets([]) == []


@pytest.mark.nojit
def test_decode_with_offsets_basics():
    tok = trained("gpt4")
    text = "Hello wörld, 你好<|endoftext|>!"
    ids = tok.encode(text, allowed_special="all")
    decoded, offsets = tok.decode_with_offsets(ids)
    assert decoded == text
    assert len(offsets) == len(ids) and offsets[0] == 0 and offsets == sorted(offsets)
    assert tok.decode_with_offsets([]) == ("", [])
    with pytest.raises(UnicodeDecodeError):
        tok.decode_with_offsets([0xC3])  # half of a character, as tiktoken raises
    with pytest.raises(UnknownTokenError):
        tok.decode_with_offsets([tok.n_vocab + 5])
    with pytest.raises(TypeError):
        tok.decode_with_offsets([1.0])  # type: ignore[list-item]


@given(tok=cut_vocabularies(), text=st.text(max_size=40))
@example(tok=with_pieces([b"\xa9!", b"a\xc3"]), text="aé!é")
@example(tok=with_pieces([b"\x98\x80", b"\xf0\x9f"]), text="😀😀 x")
def test_decode_with_offsets_as_tiktoken_on_encoded_text(tok, text):
    need_tiktoken()
    enc = tiktoken_of(tok)
    ids = tok.encode(text)
    assert ids == enc.encode(text)
    assert tok.decode_with_offsets(ids) == enc.decode_with_offsets(ids)


@given(tok=cut_vocabularies(), data=st.data())
def test_decode_with_offsets_as_tiktoken_on_any_ids(tok, data):
    # arbitrary ids, specials included: the same text and offsets, or UnicodeDecodeError in both
    need_tiktoken()
    enc = tiktoken_of(tok)
    ids = data.draw(st.lists(st.sampled_from(sorted(tok._decoder)), max_size=12))
    try:
        want = enc.decode_with_offsets(ids)
    except UnicodeDecodeError:
        with pytest.raises(UnicodeDecodeError):
            tok.decode_with_offsets(ids)
    else:
        assert tok.decode_with_offsets(ids) == want


# ---- name ---------------------------------------------------------------------------------------
@pytest.mark.nojit
def test_name_is_settable_and_saved(tmp_path):
    tok = BPETokenizer(dict(BYTES), name="first")
    tok.name = "renamed"
    assert tok.name == "renamed" and "renamed" in repr(tok)
    with pytest.raises(TypeError, match="name must be a str"):
        tok.name = 5  # type: ignore[assignment]
    with pytest.raises(TypeError, match="name must be a str"):
        BPETokenizer(dict(BYTES), name=None)  # type: ignore[arg-type]
    tok.save(tmp_path / "t.mgbpe")
    assert BPETokenizer.load(tmp_path / "t.mgbpe").name == "renamed"
    assert BPETokenizer(dict(BYTES)).name == "minigrad-bpe"  # the default


def test_name_as_tiktoken():
    tiktoken = need_tiktoken()
    enc = tiktoken.Encoding(
        "my_encoding", pat_str=r"\w+|\s+|[^\w\s]+", mergeable_ranks=dict(BYTES),
        special_tokens={"<|endoftext|>": 256},
    )  # fmt: skip
    tok = BPETokenizer.from_tiktoken(enc)
    assert tok.name == enc.name == "my_encoding"
    assert tiktoken_of(tok).name == tok.name
