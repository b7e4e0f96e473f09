"""End to end: train a BPE tokenizer in minigrad (the fast trainer), export it, load it in
tiktoken and in Hugging Face tokenizers, and get identical ids on real multilingual text."""

from __future__ import annotations

import pytest

from benchmarks.corpus import stdlib_corpus
from minigrad.tokenizers import BPETokenizer
from tests.tokenizers.bpe_support import MULTILINGUAL

SPECIAL = "<|endoftext|>"


@pytest.fixture(scope="module")
def trained():
    corpus = stdlib_corpus(60_000) + MULTILINGUAL * 3
    return {
        pattern: BPETokenizer.train(corpus, 700, pattern=pattern, special_tokens=[SPECIAL])
        for pattern in ("gpt2", "gpt4", "o200k")
    }


def _texts():
    return [MULTILINGUAL, stdlib_corpus(100_000)[60_000:], MULTILINGUAL.upper()]


@pytest.mark.parametrize("pattern", ["gpt2", "gpt4", "o200k"])
def test_tiktoken_rank_file_gives_identical_ids(trained, tmp_path, pattern):
    tiktoken = pytest.importorskip("tiktoken")
    from tiktoken.load import load_tiktoken_bpe

    tok = trained[pattern]
    tok.save_tiktoken(tmp_path / "ranks.tiktoken")
    enc = tiktoken.Encoding(
        "exported",
        pat_str=tok.pattern,
        mergeable_ranks=load_tiktoken_bpe(str(tmp_path / "ranks.tiktoken")),
        special_tokens=tok.special_tokens,
    )
    for text in _texts():
        assert enc.encode_ordinary(text) == tok.encode_ordinary(text)
    with_special = MULTILINGUAL + SPECIAL + "tail"
    ids = tok.encode(with_special, allowed_special="all")
    assert enc.encode(with_special, allowed_special="all") == ids
    assert enc.decode(ids) == with_special


@pytest.mark.parametrize("pattern", ["gpt2", "gpt4", "o200k"])
def test_huggingface_json_gives_identical_ids(trained, tmp_path, pattern):
    hf = pytest.importorskip("tokenizers")
    tok = trained[pattern]
    tok.to_huggingface_json(tmp_path / "tokenizer.json")
    peer = hf.Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    for text in _texts():
        assert peer.encode(text).ids == tok.encode_ordinary(text)
    assert peer.encode(SPECIAL).ids == [tok.special_tokens[SPECIAL]]
    assert peer.decode(tok.encode_ordinary(MULTILINGUAL)) == MULTILINGUAL
