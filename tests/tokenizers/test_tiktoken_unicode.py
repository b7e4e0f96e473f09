"""Every code point splits as in tiktoken, in both of minigrad's splitters (issue 18, point 1).

tiktoken's regex tables are Unicode 16.0.0; the ``regex`` module's are newer, and before the
classes were pinned (``minigrad/tokenizers/unicode_pinned.py``) about 17,500 code points split
differently (U+0558 followed by ``'s`` is the issue's example).  Three checks, each on all
1,112,064 code points (every Unicode scalar value) against tiktoken itself:

* **classes**: each class the compiled scanners' table holds (``\\p{L}``, ``\\p{N}``, ``\\s``,
  o200k's case classes, the punctuation and prefix complements, the case-insensitive contraction
  letters) has exactly the members tiktoken's regex gives it, and the reference path's
  (pinned) ``regex`` classes have them too;
* **in context**: for each built-in pattern, each code point between copies of a gap (alone
  between line feeds and a ``0``; followed by ``'s``; by digits; by letters; by spaces; preceded
  by a space, a line feed, spaces, a letter), the chunk holding it reaches exactly as far left
  and right in minigrad's scanner as in tiktoken (``unicode_scan.EdgeChains`` explains how the
  ids show that).  By default every code point runs in the ``'s`` context and, in the other
  contexts, the first, middle and last code point of every run of code points that all
  splitters see alike (same pinned classes, same ``regex`` classes, same UTF-8 length): with
  the classes equal on every code point, one stands for its whole run.
  ``MINIGRAD_UNICODE_SCAN=full`` runs every code point in every context (about two minutes);
* **the reference**: ``split_reference`` gives the scanner's chunks on the same texts.

ASCII code points are compared chunk by chunk (``unicode_scan.exact_chunks_match``).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import regex

from minigrad.tokenizers import unicode_pinned
from minigrad.tokenizers.fast import unicode_table as ut
from minigrad.tokenizers.fast.pretokenize import split_fast, utf8_chunk_bounds
from minigrad.tokenizers.patterns import BUILTIN_SOURCES
from minigrad.tokenizers.pretokenize import split_reference
from tests.tokenizers.unicode_scan import (
    N_CODE_POINTS,
    EdgeChains,
    all_code_points,
    as_text,
    exact_chunks_match,
    minigrad_extents,
    stand_in_code_points,
    tiktoken_members,
)

tiktoken = pytest.importorskip("tiktoken", reason="tiktoken (the 'compare' extra) is absent")

FULL = os.environ.get("MINIGRAD_UNICODE_SCAN") == "full"

#: Each bit of the class table and the class it stands for, as a regex both engines read.
TABLE_CLASSES = [
    (r"\p{L}", ut.FLAG_L),
    (r"\p{N}", ut.FLAG_N),
    (r"\s", ut.FLAG_S),
    (r"[\r\n]", ut.FLAG_CRLF),
    (r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]", ut.FLAG_UPPER),
    (r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]", ut.FLAG_LOWER),
    (r"[^\s\p{L}\p{N}]", ut.FLAG_PUNCT),
    (r"[^\r\n\p{L}\p{N}]", ut.FLAG_PREFIX),
]

#: The gap written around every code point: its end is the left context of the next one.
GAPS = {
    "alone": "\n0\n",  # between line feeds, and a 0 that is always a chunk of its own
    "'s": "'s ",  # followed by 's, preceded by a space
    "digits": "12\n",  # followed by digits, preceded by a line feed
    "letters": "ab  ",  # followed by letters, preceded by spaces
    "spaces": "  a",  # followed by spaces, preceded by a letter
}


def differences(ours: np.ndarray, theirs: np.ndarray) -> str:
    """'' when the two sets of code points are equal, else a short description."""
    mine = np.zeros(N_CODE_POINTS, dtype=bool)
    mine[ours] = True
    other = np.zeros(N_CODE_POINTS, dtype=bool)
    other[theirs] = True
    extra = np.flatnonzero(mine & ~other)
    missing = np.flatnonzero(other & ~mine)
    if not len(extra) and not len(missing):
        return ""
    return (
        f"{len(extra)} code points only minigrad has (e.g. {[hex(c) for c in extra[:5]]}), "
        f"{len(missing)} only tiktoken has (e.g. {[hex(c) for c in missing[:5]]})"
    )


@pytest.fixture(scope="module")
def code_points() -> np.ndarray:
    return all_code_points()


@pytest.fixture(scope="module")
def everything(code_points) -> str:
    return as_text(code_points)


@pytest.fixture(scope="module")
def stand_ins() -> np.ndarray:
    return stand_in_code_points()


@pytest.mark.parametrize(("class_pattern", "flag"), TABLE_CLASSES)
def test_table_classes_are_tiktokens_on_every_code_point(class_pattern, flag, code_points):
    theirs = tiktoken_members(class_pattern, code_points)
    ours = code_points[(ut.class_table()[code_points] & flag) != 0]
    assert not differences(ours, theirs), (class_pattern, differences(ours, theirs))


@pytest.mark.parametrize("letter", ut.CONTRACTION_LETTERS)
def test_contraction_letters_are_tiktokens(letter, code_points):
    theirs = tiktoken_members(f"(?i:{letter})", code_points)
    codes = (ut.class_table()[code_points] & ut.LETTER_MASK) >> ut.LETTER_SHIFT
    ours = code_points[codes == ut.CONTRACTION_LETTERS.index(letter) + 1]
    assert not differences(ours, theirs), (letter, differences(ours, theirs))


@pytest.mark.parametrize(("class_pattern", "flag"), TABLE_CLASSES)
def test_reference_classes_are_the_tables_on_every_code_point(
    class_pattern, flag, code_points, everything
):
    # the reference path's regex classes, pinned as compile_pattern pins the built-in patterns
    pinned = regex.compile(unicode_pinned.pinned_source(f"(?:{class_pattern})+"))
    hits = "".join(pinned.findall(everything))
    reference = np.frombuffer(hits.encode("utf-32-le"), dtype="<u4").astype(np.int64)
    ours = code_points[(ut.class_table()[code_points] & flag) != 0]
    assert not differences(ours, reference), (class_pattern, differences(ours, reference))


@pytest.mark.parametrize("context", GAPS)
@pytest.mark.parametrize("name", list(BUILTIN_SOURCES))
def test_code_points_in_context_split_as_in_tiktoken(name, context, code_points, stand_ins):
    every = FULL or context == "'s"
    cps = code_points if every else stand_ins
    cps = cps[cps >= 0x80]  # ASCII: test_ascii_in_context_split_as_in_tiktoken
    chains = EdgeChains(GAPS[context])
    text, starts, width = chains.stream(cps)
    enc = tiktoken.Encoding(
        "edge-chains", pat_str=BUILTIN_SOURCES[name], mergeable_ranks=chains.ranks,
        special_tokens={},
    )  # fmt: skip
    their_left, their_right = chains.extents(np.array(enc.encode_ordinary(text)), starts, width)
    _, bounds = utf8_chunk_bounds(text, name)
    our_left, our_right = minigrad_extents(bounds, starts, width, chains.gap)
    bad = np.flatnonzero((their_left != our_left) | (their_right != our_right))
    assert not len(bad), (
        f"{name}, {context}: {len(bad)} of {len(cps)} code points split differently, e.g. "
        + ", ".join(
            f"U+{cps[i]:04X} (left/right extent minigrad {our_left[i]}/{our_right[i]}, "
            f"tiktoken {their_left[i]}/{their_right[i]})"
            for i in bad[:5]
        )
    )
    if not every or FULL:  # the full reference run costs seconds per context: stand-ins only
        assert split_fast(text, name) == split_reference(text, name)


@pytest.mark.parametrize("name", list(BUILTIN_SOURCES))
def test_ascii_in_context_split_as_in_tiktoken(name):
    texts = [gap + chr(c) + gap for gap in GAPS.values() for c in range(0x80)]
    chunks = [split_fast(t, name) for t in texts]
    assert chunks == [split_reference(t, name) for t in texts]
    assert exact_chunks_match(texts, chunks, BUILTIN_SOURCES[name]) == []
