"""The pinned Unicode data (16.0.0, tiktoken's): its provenance, its parsing, and how the
reference path's patterns are pinned to it.  The comparison with tiktoken on every code point is
``test_tiktoken_unicode.py``; these tests need no peer."""

from __future__ import annotations

import importlib.util
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import regex

from minigrad.tokenizers import compile_pattern, split, split_reference, unicode_pinned
from minigrad.tokenizers.patterns import BUILTIN_SOURCES
from minigrad.tokenizers.unicode_pinned import (
    N_CODE_POINTS,
    class_ranges,
    corrected_class,
    mask,
    pinned_source,
)

ROOT = Path(__file__).resolve().parents[2]

#: Code points per class in Unicode 16.0.0 (DerivedGeneralCategory.txt; White_Space from
#: PropList.txt): what the data file must hold.
UNICODE_16_COUNTS = {
    "Lu": 1858,
    "Ll": 2258,
    "Lt": 31,
    "Lm": 404,
    "Lo": 136477,
    "M": 2501,
    "N": 1911,
    "WS": 25,
}


@pytest.mark.nojit
def test_data_holds_unicode_16_counts() -> None:
    ranges = class_ranges()
    counts = {c: int((r[:, 1] - r[:, 0] + 1).sum()) for c, r in ranges.items()}
    assert {c: counts[c] for c in UNICODE_16_COUNTS} == UNICODE_16_COUNTS
    header = unicode_pinned._data_bytes().decode().splitlines()
    assert header[0] == "# unicode_version: 16.0.0"
    stated = next(line for line in header if line.startswith("# Counts: "))
    assert stated == "# Counts: " + ", ".join(f"{c} {n}" for c, n in UNICODE_16_COUNTS.items())
    assert [chr(c) for c in np.flatnonzero(mask("CI_s"))] == ["S", "s", "ſ"]


@pytest.mark.nojit
@pytest.mark.parametrize(
    ("cp", "member_of", "why"),
    [
        (0x0041, {"L", "Lu"}, "A"),
        (0x0295, {"L", "Ll"}, "Ll in 16.0 (it became Lo in 17.0)"),
        (0x0558, set(), "unassigned in 16.0 (a letter in 17.0)"),
        (0x31350, {"L", "Lo"}, "CJK Extension H, Unicode 15.0"),
        (0x2EBF0, {"L", "Lo"}, "CJK Extension I, Unicode 15.1"),
        (0x13460, {"L", "Lo"}, "Egyptian Hieroglyphs Extended-A, Unicode 16.0"),
        (0x10D40, {"N"}, "Garay digit zero, Unicode 16.0"),
        (0x323B0, set(), "CJK Extension J: Unicode 17.0"),
        (0x0301, {"M"}, "combining acute accent"),
        (0x00A0, {"s"}, "no-break space is White_Space"),
        (0x001C, set(), "str.isspace() says yes, White_Space says no"),
    ],
)
def test_data_spot_checks(cp: int, member_of: set[str], why: str) -> None:
    names = ["L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "N", "s"]
    assert {n for n in names if mask(n)[cp]} == member_of, why


def _unicode_16_database_available() -> bool:
    for name in ("unicodedata2", "unicodedata"):
        if importlib.util.find_spec(name) is not None:
            module = __import__(name)
            if module.unidata_version == unicode_pinned.UNICODE_VERSION:
                return True
    return False


@pytest.mark.skipif(
    not _unicode_16_database_available(),
    reason="regenerating needs the Unicode 16.0.0 database: pip install unicodedata2==16.0.0",
)
def test_generator_reproduces_the_data_file(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "argv", ["gen_unicode_classes.py", "--check"])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(str(ROOT / "tools" / "gen_unicode_classes.py"), run_name="__main__")
    assert exit_.value.code == 0, capsys.readouterr().out


@pytest.fixture
def damaged_data(monkeypatch):
    """Replace the data file's bytes; the parsed-data cache is cleared before and after."""
    class_ranges.cache_clear()

    def use(text: str) -> None:
        monkeypatch.setattr(unicode_pinned, "_data_bytes", lambda: text.encode())

    yield use
    monkeypatch.undo()
    class_ranges.cache_clear()


@pytest.mark.nojit
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0041 Lu\n", "line 1 must be"),
        ("# unicode_version: 15.1.0\n0041 Lu\n", "line 1 must be"),
        ("# unicode_version: 16.0.0\n0041..005A Xx\n", "line 2: cannot parse"),
        ("# unicode_version: 16.0.0\n0041..005A\n", "line 2: cannot parse"),
        ("# unicode_version: 16.0.0\nZZ Lu\n", "line 2: cannot parse"),
        ("# unicode_version: 16.0.0\n0061 Lu\n0041 Lu\n", "line 3: range out of order"),
        ("# unicode_version: 16.0.0\n005A..0041 Lu\n", "line 2: range out of order"),
        ("# unicode_version: 16.0.0\n110000 Lu\n", "line 2: range out of order"),
    ],
)
def test_damaged_data_file_is_a_clear_error(damaged_data, text: str, message: str) -> None:
    damaged_data(text)
    with pytest.raises(RuntimeError, match=message):
        class_ranges()


@pytest.mark.nojit
def test_unknown_class_names_raise() -> None:
    with pytest.raises(ValueError, match="unknown class 'Greek'"):
        mask("Greek")


# ---- the reference path ---------------------------------------------------------------------
@pytest.mark.nojit
def test_corrected_class_matches_exactly_the_pinned_members() -> None:
    # a made-up disagreement: regex's class has 0x0558 and U+1000-U+1003 too many, lacks 'b'
    theirs = np.zeros(N_CODE_POINTS, dtype=bool)
    theirs[[ord("a"), 0x0558, 0x1000, 0x1001, 0x1002, 0x1003]] = True
    ours = np.zeros(N_CODE_POINTS, dtype=bool)
    ours[[ord("a"), ord("b")]] = True
    spelled = corrected_class("[a\\u0558\\u1000-\\u1003]", theirs, ours)
    assert "--" in spelled and "||" in spelled
    everything = "".join(map(chr, range(N_CODE_POINTS)))
    assert regex.findall(f"(?V1){spelled}", everything) == ["a", "b"]
    assert corrected_class(r"\d", theirs, theirs) == r"\d"  # nothing to correct


@pytest.mark.nojit
@pytest.mark.parametrize(
    ("source", "message"),
    [
        (r"\P{L}", r"cannot pin \\P in"),
        (r"\p{Greek}+", "cannot pin .p.Greek."),
        (r"\pL", r"cannot pin \\p in"),
        (r"[a[b]]", "nested set"),
        (r"[a-z--[aeiou]]", "'--' reads differently"),
        (r"a||b", "'||' reads differently"),
    ],
)
def test_pinned_source_refuses_what_it_cannot_pin(source: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pinned_source(source)


@pytest.mark.nojit
def test_only_builtin_patterns_are_pinned() -> None:
    for source in BUILTIN_SOURCES.values():
        assert compile_pattern(source).pattern == pinned_source(source)
    custom = r"\p{L}+|\s+|[^\s\p{L}]+"
    assert compile_pattern(custom).pattern == custom  # custom patterns: regex's own tables
    assert pinned_source(r"[\r\n]+|\d") == r"[\r\n]+|\d"  # nothing Unicode-dependent to pin


@pytest.mark.nojit
def test_the_issues_example_splits_as_tiktoken_does() -> None:
    # U+0558 is a letter in Unicode 17 (the regex module) and unassigned in 16.0 (tiktoken):
    # punctuation, so it takes the apostrophe and "s" is a chunk of its own
    text = "\u0558's"
    assert split_reference(text, "gpt4") == ["\u0558'", "s"]
    assert split_reference(text, "gpt2") == ["\u0558'", "s"]
    for name in BUILTIN_SOURCES:
        assert split(text, name) == split_reference(text, name)
