"""Files: minigrad's format, .tiktoken rank files, Hugging Face export, from_tiktoken."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minigrad.tokenizers import BPETokenizer
from minigrad.tokenizers import io as tio
from tests.tokenizers.bpe_support import MULTILINGUAL, SPECIALS, trained

PATTERNS = ["gpt2", "gpt4", "o200k", None]
tmp_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


# ---- minigrad's format ----------------------------------------------------------------------
@pytest.mark.nojit
@pytest.mark.parametrize("pattern", PATTERNS)
def test_save_load_round_trip(tmp_path, pattern):
    tok = trained(pattern)
    path = tmp_path / "tok.mgbpe"
    tok.save(path)
    back = BPETokenizer.load(str(path))
    assert back == tok
    assert back.name == tok.name
    text = MULTILINGUAL + "<|pad|>"
    assert back.encode(text, allowed_special="all") == tok.encode(text, allowed_special="all")
    assert os.listdir(tmp_path) == ["tok.mgbpe"]  # no temporary file left behind


def test_custom_pattern_round_trip(tmp_path):
    custom = r"\w+|\s+|[^\w\s]+"
    tok = BPETokenizer(trained("gpt4").mergeable_ranks, pattern=custom, name="custom")
    tok.save(tmp_path / "c")
    back = BPETokenizer.load(tmp_path / "c")
    assert back.pattern == custom
    assert back.encode(MULTILINGUAL) == tok.encode(MULTILINGUAL)


def test_file_is_deterministic_and_readable(tmp_path):
    tok = trained("gpt4")
    tok.save(tmp_path / "a")
    BPETokenizer.load(tmp_path / "a").save(tmp_path / "b")
    data = (tmp_path / "a").read_bytes()
    assert data == (tmp_path / "b").read_bytes()
    lines = data.decode().splitlines()
    assert lines[0] == "minigrad-bpe 1"
    assert '"<|endoftext|>"' in lines[1]
    assert len(lines) == 2 + len(tok.mergeable_ranks)


def test_body_is_a_tiktoken_file(tmp_path):
    load = pytest.importorskip("tiktoken.load")
    tok = trained("gpt4")
    tok.save(tmp_path / "full")
    body = (tmp_path / "full").read_text().split("\n", 2)[2]
    (tmp_path / "body.tiktoken").write_text(body)
    assert load.load_tiktoken_bpe(str(tmp_path / "body.tiktoken")) == tok.mergeable_ranks


@given(cut=st.integers(min_value=0, max_value=10**9))
@tmp_ok
def test_truncated_file_raises_value_error(tmp_path, cut):
    tok = trained("gpt4")
    data = tio.dumps(tok)
    cut = cut % (len(data) - 1)  # any proper prefix (dropping only the final newline is harmless)
    path = tmp_path / "cut"
    path.write_text(data[:cut])
    with pytest.raises(ValueError):
        BPETokenizer.load(path)


@pytest.mark.parametrize(
    ("mangle", "match"),
    [
        (lambda s: "hello world\n", "not a minigrad tokenizer file"),
        (lambda s: s.replace("minigrad-bpe 1", "minigrad-bpe 2", 1), "version '2'"),
        (lambda s: s.replace('{"name"', '{name"', 1), "line 2 is not a valid JSON"),
        (lambda s: s.replace('"n_ranks"', '"n_rank"', 1), "header"),
        (lambda s: s.replace("\nAA== 0\n", "\nA?A= 0\n", 1), "line 3"),
        (lambda s: s.replace("\nAQ== 1\n", "\nAQ== 7\n", 1), "expected rank 1"),
        (lambda s: s.replace("\nAQ== 1\n", "\nAA== 1\n", 1), "same token"),
        (lambda s: s + "QUJD 9999\n", "truncated or padded"),
        (lambda s: s.replace('"n_ranks": 600', '"n_ranks": 12', 1), "truncated or padded"),
    ],
)
def test_corrupt_files(tmp_path, mangle, match):
    path = tmp_path / "bad"
    path.write_text(mangle(tio.dumps(trained("gpt4"))))
    with pytest.raises(ValueError, match=match):
        BPETokenizer.load(path)


def test_binary_garbage_and_special_collision(tmp_path):
    (tmp_path / "bin").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="not UTF-8 text"):
        BPETokenizer.load(tmp_path / "bin")
    text = tio.dumps(trained("gpt4")).replace('"<|pad|>": 602', '"<|pad|>": 5', 1)
    with pytest.raises(ValueError, match="already the rank"):
        tio.loads(text, cls=BPETokenizer)
    with pytest.raises(FileNotFoundError):
        BPETokenizer.load(tmp_path / "missing")


@pytest.mark.nojit
@pytest.mark.parametrize("bad_id", [10**12, 600 + 3 + 1024, 2**63])
def test_special_ids_must_follow_the_ranks(tmp_path, bad_id):
    # a special id of 10**12 used to load, and n_vocab (every embedding's row count) with it
    text = tio.dumps(trained("gpt4")).replace('"<|pad|>": 602', f'"<|pad|>": {bad_id}', 1)
    assert str(bad_id) in text
    (tmp_path / "far").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="must follow the ranks"):
        BPETokenizer.load(tmp_path / "far")
    ranks = trained("gpt4").mergeable_ranks
    with pytest.raises(ValueError, match="must follow the ranks"):
        BPETokenizer(ranks, special_tokens={"<a>": 600, "<b>": bad_id})
    # tiktoken-style gaps stay fine (cl100k_base leaves ids unused among its specials)
    tok = BPETokenizer(ranks, special_tokens={"<a>": 601, "<b>": 620, "<c>": 600 + 3 + 1023})
    assert tok.n_vocab == 600 + 3 + 1024


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_saved_files_get_the_umask_mode(tmp_path):
    saved = os.umask(0o022)
    try:
        tok = trained("gpt4")
        tok.save(tmp_path / "a.mgbpe")
        tok.save_tiktoken(tmp_path / "a.tiktoken")
        tok.to_huggingface_json(tmp_path / "a.json")
        for name in ("a.mgbpe", "a.tiktoken", "a.json"):
            assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name  # was 0o600
    finally:
        os.umask(saved)


def test_failed_write_keeps_old_file(tmp_path, monkeypatch):
    tok = trained("gpt4")
    path = tmp_path / "tok"
    tok.save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tio.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        BPETokenizer(tok.mergeable_ranks, pattern="gpt2").save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["tok"]


# ---- tiktoken files and objects -------------------------------------------------------------
def test_tiktoken_rank_file_round_trip(tmp_path):
    tok = trained("o200k")
    tok.save_tiktoken(tmp_path / "r.tiktoken")
    back = BPETokenizer.load_tiktoken(
        tmp_path / "r.tiktoken", pattern="o200k", special_tokens=tok.special_tokens, name=tok.name
    )
    assert back == tok
    (tmp_path / "bad.tiktoken").write_text("AA== 0\nnot-base64! 1\n")
    with pytest.raises(ValueError, match="line 2"):
        BPETokenizer.load_tiktoken(tmp_path / "bad.tiktoken")


def test_tiktoken_reads_our_rank_file(tmp_path):
    load = pytest.importorskip("tiktoken.load")
    tok = trained("gpt4")
    tok.save_tiktoken(tmp_path / "r.tiktoken")
    assert load.load_tiktoken_bpe(str(tmp_path / "r.tiktoken")) == tok.mergeable_ranks


def test_from_tiktoken():
    tiktoken = pytest.importorskip("tiktoken")
    tok = trained("gpt4")
    enc = tiktoken.Encoding(
        "mine",
        pat_str=tok.pattern,
        mergeable_ranks=tok.mergeable_ranks,
        special_tokens={"<e>": 700},
    )
    back = BPETokenizer.from_tiktoken(enc)
    assert back.name == "mine"
    assert back.special_tokens == {"<e>": 700}
    assert back.n_vocab == enc.n_vocab
    text = MULTILINGUAL + "<e>"
    assert back.encode(text, allowed_special="all") == enc.encode(text, allowed_special="all")
    with pytest.raises(TypeError, match=r"tiktoken\.Encoding"):
        BPETokenizer.from_tiktoken(object())


# ---- Hugging Face export --------------------------------------------------------------------
@pytest.fixture(scope="module")
def hf_tokenizers(tmp_path_factory):
    hf = pytest.importorskip("tokenizers")
    out = {}
    for pattern in PATTERNS:
        path = tmp_path_factory.mktemp("hf") / "tokenizer.json"
        trained(pattern).to_huggingface_json(path)
        out[pattern] = hf.Tokenizer.from_file(str(path))
    return out


@pytest.mark.parametrize("pattern", PATTERNS)
def test_huggingface_parity_real_text(hf_tokenizers, pattern):
    from benchmarks.corpus import stdlib_corpus

    tok = trained(pattern)
    hf = hf_tokenizers[pattern]
    for text in (MULTILINGUAL, stdlib_corpus(200_000)[50_000:]):
        assert hf.encode(text).ids == tok.encode_ordinary(text)
    assert hf.decode(tok.encode(MULTILINGUAL)) == MULTILINGUAL
    special = tok.special_tokens["<|endoftext|>"]
    assert hf.encode("<|endoftext|>").ids == [special]


@given(text=st.text(max_size=80))  # any Unicode except lone surrogates
def test_huggingface_parity_generated_text(hf_tokenizers, text):
    if any(s in text for s in SPECIALS):
        return  # HF always matches added tokens; tiktoken's policy is not expressible
    for pattern in PATTERNS:
        assert hf_tokenizers[pattern].encode(text).ids == trained(pattern).encode_ordinary(text)


def test_onig_pattern_rewrites_possessive_intervals():
    assert tio.onig_pattern(r"\p{N}{1,3}+") == r"(?>\p{N}{1,3})"
    assert tio.onig_pattern(r"[^\]a]{2,}+x") == r"(?>[^\]a]{2,})x"
    assert tio.onig_pattern(r"\p{L}++|a{3}") == r"\p{L}++|a{3}"


def test_bytes_to_unicode_is_gpt2s():
    table = tio.bytes_to_unicode()
    assert len(set(table.values())) == 256
    assert table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ" and table[ord("a")] == "a"
