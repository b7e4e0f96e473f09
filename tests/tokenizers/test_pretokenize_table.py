"""The class table agrees with the pinned ``regex`` classes per code point; its disk cache; API
errors; long runs.  (Against tiktoken on every code point: ``test_tiktoken_unicode.py``.)"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import regex
from hypothesis import example, given
from hypothesis import strategies as st

from minigrad.tokenizers import unicode_pinned
from minigrad.tokenizers.fast import unicode_table as ut
from minigrad.tokenizers.fast.pretokenize import chunk_bounds, encode_text, split_fast
from minigrad.tokenizers.patterns import PATTERN_NAMES, PATTERNS, builtin_name
from minigrad.tokenizers.pretokenize import split_reference
from minigrad.tokenizers.unicode_pinned import pinned_source

CLASSES = [
    (r"\p{L}", ut.FLAG_L),
    (r"\p{N}", ut.FLAG_N),
    (r"\s", ut.FLAG_S),
    (r"[\r\n]", ut.FLAG_CRLF),
    (r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]", ut.FLAG_UPPER),
    (r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]", ut.FLAG_LOWER),
    (r"[^\s\p{L}\p{N}]", ut.FLAG_PUNCT),
    (r"[^\r\n\p{L}\p{N}]", ut.FLAG_PREFIX),
]


@pytest.mark.nojit
@given(st.integers(0, ut.N_CODE_POINTS - 1))
@example(0x0558)  # a letter to regex 2026.11.19 (Unicode 17), unassigned in tiktoken's 16.0
@example(0x0295)  # Ll in Unicode 16, Lo in 17: o200k's UPPER class differs
def test_table_agrees_with_pinned_regex(cp: int) -> None:
    # the reference path's classes: regex's own, corrected to the pinned Unicode data
    flags = int(ut.class_table()[cp])
    ch = chr(cp)
    for pattern, flag in CLASSES:
        pinned = pinned_source(pattern)
        assert bool(flags & flag) == bool(regex.fullmatch(pinned, ch)), (hex(cp), pattern)
    code = (flags & ut.LETTER_MASK) >> ut.LETTER_SHIFT
    expected = [
        i + 1 for i, c in enumerate(ut.CONTRACTION_LETTERS) if regex.fullmatch(f"(?i:{c})", ch)
    ]
    assert [code] == expected if expected else code == 0


def test_table_known_values() -> None:
    t = ut.class_table()
    assert t.dtype == np.uint16 and t.shape == (ut.N_CODE_POINTS,)
    assert not t.flags.writeable
    assert t[0x1C] & ut.FLAG_S == 0  # str.isspace() says yes, regex's \s says no
    assert t[0x85] & ut.FLAG_S
    assert (t[ord("ſ")] & ut.LETTER_MASK) >> ut.LETTER_SHIFT == ut.CODE_S
    assert t[0xD800] & ut.FLAG_PUNCT  # a lone surrogate is "anything else"
    assert t[0x0301] & ut.FLAG_UPPER and t[0x0301] & ut.FLAG_LOWER and t[0x0301] & ut.FLAG_PREFIX
    # pinned to Unicode 16.0.0 (tiktoken's), not to the regex module's newer tables
    assert t[0x0558] & ut.FLAG_PUNCT and not t[0x0558] & ut.FLAG_L
    assert t[0x0295] & ut.FLAG_LOWER and not t[0x0295] & ut.FLAG_UPPER
    assert t[0x323B0] & ut.FLAG_PUNCT  # CJK Extension J: Unicode 17
    assert t[0x31350] & ut.FLAG_L  # CJK Extension H: Unicode 15


def test_cache_roundtrip(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MINIGRAD_CACHE_DIR", str(tmp_path))
    path = ut.cache_path()
    assert path.parent == tmp_path and path.name == (
        f"unicode_classes-ucd{unicode_pinned.UNICODE_VERSION}-{unicode_pinned.data_digest()}-v2.npy"
    )  # not the name older minigrads (tables from regex) read: the cache dir is shared
    assert ut.read_cached(path) is None  # absent
    table = ut.class_table()
    ut.write_cached(path, table)
    loaded = ut.read_cached(path)
    assert loaded is not None and np.array_equal(loaded, table)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left over


def test_cache_rejects_corrupt_files(tmp_path) -> None:
    bad = tmp_path / "t.npy"
    bad.write_bytes(b"not a numpy file")
    assert ut.read_cached(bad) is None
    np.save(bad, np.zeros(10, dtype=np.uint16))  # wrong shape
    assert ut.read_cached(bad) is None
    np.save(bad, np.zeros(ut.N_CODE_POINTS, dtype=np.int32))  # wrong dtype
    assert ut.read_cached(bad) is None


def test_unwritable_cache_is_not_an_error(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where a directory should be")
    ut.write_cached(blocker / "sub" / "t.npy", np.zeros(3, dtype=np.uint16))  # must not raise


def test_cache_dir_precedence(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("MINIGRAD_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert ut.cache_dir() == tmp_path / "minigrad"
    monkeypatch.setenv("MINIGRAD_CACHE_DIR", str(tmp_path / "x"))
    assert ut.cache_dir() == tmp_path / "x"


@pytest.mark.nojit
def test_only_builtin_sources_have_scanners() -> None:
    for name in PATTERN_NAMES:
        assert builtin_name(PATTERNS[name]) in ("gpt2", "gpt4", "o200k")
    assert builtin_name("gpt4") is None  # a name, not a source
    assert builtin_name(PATTERNS["gpt4"] + "|x") is None
    assert builtin_name(None) is None
    with pytest.raises(ValueError, match="no compiled scanner"):
        chunk_bounds("x", r"\w+")


@pytest.mark.nojit
def test_errors_name_the_offending_value() -> None:
    with pytest.raises(ValueError, match="'gpt5'"):
        chunk_bounds("x", "gpt5")
    with pytest.raises(TypeError, match="NoneType"):
        split_fast("x", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bytes"):
        split_fast(b"x", "gpt4")  # type: ignore[arg-type]


@pytest.mark.nojit
def test_encode_text_replaces_surrogates_like_tiktoken() -> None:
    # one policy in every path: a lone surrogate becomes U+FFFD, a pair the character it spells
    # (this scanner used to pass lone surrogates through as 3-byte sequences)
    assert encode_text("a\ud800") == "a\ufffd".encode()
    assert encode_text("\ud83d\ude00\udfff") == "\U0001f600\ufffd".encode()
    assert encode_text("é") == "é".encode()


@pytest.mark.parametrize(
    "unit", ["A", "a", " ", "\n ", "\u0301", "A\u0301", "\u0301A", "1", "!", "'s", "ǅ", "\ud800"]
)
def test_long_runs_stay_linear(unit: str) -> None:
    # 200k characters of one kind: a quadratic rescan would take minutes, not milliseconds
    text = unit * (200_000 // len(unit)) + "x"
    for name in ("gpt2", "gpt4", "o200k"):
        assert split_fast(text, name) == split_reference(text, name)


def test_threads_share_the_scanner() -> None:
    texts = [f"Thread {i}: naïve 'S  words\r\n{i * 12345}  " * 500 for i in range(8)]
    want = [chunk_bounds(t, "o200k") for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda t: chunk_bounds(t, "o200k"), texts))
    assert all(np.array_equal(a, b) for a, b in zip(got, want))
