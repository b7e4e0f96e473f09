"""The compiled pre-tokenizer splits exactly as the ``regex`` reference, on any text.

The oracle is ``regex.findall`` with the built-in pattern (``pretokenize.split_reference``);
the property is equality of the chunk lists, for arbitrary Unicode (surrogates included), for
text drawn from a small alphabet of characters that sit on the patterns' edges (so that
Hypothesis meets ``'S``, ``\\r\\n ``, marks after capitals... often), and for real text.
"""

from __future__ import annotations

import sysconfig
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from minigrad.tokenizers.fast import pretokenize as fast_pretokenize
from minigrad.tokenizers.fast.pretokenize import chunk_bounds, split_fast, utf8_chunk_bounds
from minigrad.tokenizers.patterns import PATTERN_NAMES, PATTERNS
from minigrad.tokenizers.pretokenize import replace_surrogates, split, split_reference

NAMES = ("gpt2", "gpt4", "o200k")

#: Characters on the edges of the three patterns, one or two of each kind.
TRICKY = [
    # whitespace as regex sees it (and look-alikes it does not count: \x1c-\x1f, ZWSP, U+180E)
    " ", "  ", "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x85", "\xa0", "\u1680", "\u2000",
    "\u2028", "\u2029", "\u202f", "\u3000", "\x1c", "\x1f", "\u200b", "\u180e",
    # apostrophes and contraction letters in both cases, the long s that (?i) folds to s
    "'", "'", "'", "s", "S", "t", "T", "d", "D", "m", "M", "l", "L", "ll", "LL", "v", "V", "e",
    "E", "r", "R", "ſ", "\u2019", "'s", "'S", "'ll", "'Ll", "'vE", "'re", "'T",
    # letters of every kind: Lu, Ll, Lt, Lm, Lo; astral letters
    "a", "A", "é", "É", "ǅ", "ᾈ", "ʰ", "ー", "ª", "中", "ह", "\U0001d400", "\U0001d41a",
    "\U00020000",
    # marks: Mn, Mc, Me; zero-width joiner, variation selector, skin tone
    "\u0301", "\u093f", "\u094d", "\u20dd", "\u200d", "\ufe0f", "\U0001f3fd",
    # numbers: Nd (ASCII, Arabic-Indic, astral), Nl, No
    "1", "7", "0", "\u0663", "\U0001d7d8", "\u216b", "\u00b2", "\u00bd",
    # punctuation and symbols, o200k's slash
    ".", ",", "!", "/", "//", "-", "_", "(", "😀", "€", "\x00", "\u00ad",
]  # fmt: skip

tricky_text = st.lists(st.sampled_from(TRICKY), max_size=30).map("".join)
mixed_text = st.lists(
    st.one_of(st.sampled_from(TRICKY), st.characters(exclude_categories=())), max_size=30
).map("".join)
#: Rare categories that plain st.text() seldom draws.
rare_text = st.text(
    st.characters(
        categories=["Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nl", "No", "Zs", "Zl", "Zp", "Cc", "Cs"]
    ),
    max_size=20,
)
#: st.text() leaves out surrogates; this one includes every category.
any_text = st.text(st.characters(exclude_categories=()), max_size=50)

MANY = settings(max_examples=5 * settings.default.max_examples)


def reference(text: str, name: str) -> list[str]:
    return split_reference(text, name)


def check(text: str) -> None:
    for name in NAMES:
        got = split_fast(text, name)
        want = reference(text, name)
        assert got == want, (name, text)


# ---- properties ---------------------------------------------------------------------------


@MANY
@given(st.text())
@example("")
@example("I'm 'S 'Ll 'ſ x'RE y'VE  \n\n z   ")
@example("  \u3000abc\u0301DEF 12345 //\n/ ")
@example("\u0301A")  # a mark before a capital: o200k alternative 1 takes the mark alone
@example("A\u0301b")
@example("\u0301\u0301")
@example("a \r\n \r \n  \t")
@example("x\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029y")
@example("1234567 \u0663\u0663\u0663\u0663 \u00b2\u00b2\u00b2\u00b2")
def test_matches_regex_on_any_text(text: str) -> None:
    check(text)


@MANY
@given(tricky_text)
@example("HELLO'S world's")
@example("ǅa'sǅ")
@example("ᾈᾈa")
@example(" 'S")
@example("\r\n\r\n  ")
@example("!!\r\n\r\n/\r/x")
def test_matches_regex_on_tricky_alphabet(text: str) -> None:
    check(text)


@MANY
@given(mixed_text)
def test_matches_regex_on_mixed_text(text: str) -> None:
    check(text)


@given(rare_text)
def test_matches_regex_on_rare_categories(text: str) -> None:
    check(text)


@pytest.mark.nojit
@given(any_text)
@example("\ud800")
@example("a\udfffb 'S\ud83d\ude00")
def test_matches_regex_with_surrogates(text: str) -> None:
    check(text)


@pytest.mark.nojit
@given(mixed_text)
@example("x\ud83d\ude00 \ud800")  # a surrogate pair becomes one character: offsets shift
def test_bounds_are_consistent(raw: str) -> None:
    text = replace_surrogates(raw)  # offsets are into the text after the surrogate policy
    for name in NAMES:
        b = chunk_bounds(raw, name)
        assert b.dtype == np.int64 and b[0] == 0 and b[-1] == len(text)
        assert np.all(np.diff(b) > 0)
        assert [text[x:y] for x, y in pairwise(b.tolist())] == reference(text, name)
        data, ub = utf8_chunk_bounds(raw, name)
        assert ub[0] == 0 and ub[-1] == len(data)
        as_text = [data[x:y].decode("utf-8") for x, y in pairwise(ub)]
        assert as_text == split_fast(raw, name)


# ---- fixed cases ----------------------------------------------------------------------------


@pytest.mark.nojit
@pytest.mark.parametrize(
    ("name", "text", "chunks"),
    [
        ("gpt2", "I'm  here\n", ["I", "'m", " ", " here", "\n"]),
        ("gpt2", "HELLO'S", ["HELLO", "'", "S"]),
        ("gpt4", "HELLO'S", ["HELLO", "'S"]),
        ("o200k", "HELLO'S", ["HELLO'S"]),
        ("gpt4", "  \n\n  x", ["  \n\n", " ", " x"]),
        ("gpt4", "1234567", ["123", "456", "7"]),
        ("o200k", "helloWorld", ["hello", "World"]),
        ("o200k", "नमस्ते दुनिया", ["नमस्ते", " दुनिया"]),
        ("cl100k", "", []),
    ],
)
def test_known_splits(name: str, text: str, chunks: list[str]) -> None:
    assert split_fast(text, name) == chunks
    assert reference(text, "gpt4" if name == "cl100k" else name) == chunks


@pytest.mark.nojit
def test_empty_text_has_one_bound() -> None:
    for name in PATTERN_NAMES:  # every accepted name
        assert chunk_bounds("", name).tolist() == [0]
        assert split_fast("", name) == []


MULTILINGUAL = """\
Hindi: नमस्ते दुनिया, यह एक परीक्षण है। क्षत्रिय ज्ञान श्री।
Marathi/Nepali: मराठी भाषा; नेपाली भाषा।
Chinese: 你好，世界！这是一个测试。二〇二四年。
Japanese: こんにちは世界。カタカナとひらがな、ーー長音。
Korean: 안녕하세요 세계! 한국어 텍스트입니다.
Arabic: مرحبا بالعالم، هذا اختبار ١٢٣٤٥٦ والأرقام.
Hebrew: שָׁלוֹם עוֹלָם
Thai: สวัสดีชาวโลก ภาษาไทยไม่มีช่องว่าง
Greek: Γειά σου Κόσμε! ΑΘΗΝΑ'S ᾈδης
Russian: Привет, мир! Don'T СЛОВО'll
Emoji: 👋🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️ 1️⃣ 🇫🇷 🧑🏿‍💻!!
Math: 𝐀𝐁𝐂 𝟘𝟙𝟚 ∑ x² ½ Ⅻ ǅungla ﬁne
Mixed\tspaces\u3000here\u00a0and\u2028there\r\n\r\n   trailing   \n\n
"""


def _stdlib_texts() -> list[str]:
    root = Path(sysconfig.get_paths()["stdlib"])
    names = ["textwrap.py", "argparse.py", "locale.py", "html/entities.py", "test/test_unicode.py"]
    texts = []
    for rel in names:
        path = root / rel
        if path.is_file():
            texts.append(path.read_bytes().decode("utf-8", "replace")[:200_000])
    return texts


def test_multilingual_sample() -> None:
    check(MULTILINGUAL)
    for line in MULTILINGUAL.splitlines(keepends=True):
        check(line)


def test_stdlib_sources() -> None:
    texts = _stdlib_texts()
    assert texts, "no stdlib sources found"
    for text in texts:
        check(text)


@pytest.mark.nojit
@given(tricky_text)
def test_split_dispatches_and_agrees(text: str) -> None:
    for name in NAMES:
        assert split(text, name) == split(text, PATTERNS[name]) == split_reference(text, name)
    custom = r"\w+|\W"
    assert split(text, custom) == split_reference(text, custom)
    assert split(text, None) == ([text] if text else [])


@pytest.mark.nojit
@given(tricky_text)
def test_split_fast_without_a_free_separator(text: str) -> None:
    # every candidate separator present: split_fast must fall back to slicing
    text = "".join(map(chr, range(9))) + text
    check(text)


@pytest.mark.nojit
@given(mixed_text, st.integers(1, 5))
def test_scanning_in_small_blocks_changes_nothing(text: str, block: int) -> None:
    # resuming a scan at a chunk end continues exactly as one long scan (findall is memoryless)
    want = {name: chunk_bounds(text, name) for name in NAMES}
    saved = fast_pretokenize.SCAN_BLOCK
    fast_pretokenize.SCAN_BLOCK = block
    try:
        for name in NAMES:
            assert np.array_equal(chunk_bounds(text, name), want[name])
            assert split_fast(text, name) == reference(text, name)
    finally:
        fast_pretokenize.SCAN_BLOCK = saved
