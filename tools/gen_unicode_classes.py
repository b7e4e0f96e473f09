"""Write ``minigrad/tokenizers/unicode16_classes.txt``: the Unicode classes of the split patterns.

Why this file exists.  The split patterns speak of Unicode classes (``\\p{L}``, ``\\p{N}``,
``\\p{M}``, ``\\s``, ...), and *which* code points belong to them depends on the Unicode version
of the regex engine's tables.  tiktoken splits with the Rust crates ``fancy-regex`` and
``regex`` (tiktoken 0.14.0 links ``regex-syntax`` 0.8.11), whose tables are Unicode 16.0.0;
the Python ``regex`` module that minigrad's reference path uses follows newer Unicode versions
(``regex`` 2026.11.19: Unicode 17, where about 17,500 code points unassigned in 16.0 became
letters, digits and marks).  To cut text exactly as tiktoken does, minigrad pins its classes to
Unicode 16.0.0 with this data file, and the tests compare it against tiktoken code point by
code point (``tests/tokenizers/test_unicode_pinned.py``).

Provenance.  The general categories come from the Unicode Character Database 16.0.0 as shipped
by ``unicodedata2`` 16.0.0 (or by Python's own ``unicodedata`` on a Python whose
``unicodedata.unidata_version`` is 16.0.0, e.g. Python 3.14).  Two small sets are not in
``unicodedata``: ``White_Space`` (the 25 code points of PropList.txt, unchanged since Unicode
6.3; the script checks them against the ``regex`` module's ``\\s``) and the code points that
match the contraction letters ``s d m t l v e r`` case-insensitively under simple case folding
(the letter in both cases, plus U+017F LATIN SMALL LETTER LONG S for ``s``; taken from the
``regex`` module's ``(?i:x)`` and checked to be what the case pairs predict).

Usage (in any virtualenv; unicodedata2 is needed only here, never by minigrad)::

    pip install unicodedata2==16.0.0
    python tools/gen_unicode_classes.py            # rewrite the data file
    python tools/gen_unicode_classes.py --check    # exit 1 if the committed file differs

Format of the output: comment lines start with ``#``; every other line is
``FIRST..LAST CLASS`` (or ``CP CLASS`` for a single code point), upper-case hex without
``U+``, sorted by class then code point, ranges maximal and disjoint within a class.  Classes:
``Lu Ll Lt Lm Lo`` (letters, by general category), ``M`` (Mn Mc Me), ``N`` (Nd Nl No), ``WS``
(White_Space) and ``CI_s CI_d CI_m CI_t CI_l CI_v CI_e CI_r`` (what ``(?i:s)``... matches).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

UNICODE_VERSION = "16.0.0"
OUT = Path(__file__).resolve().parents[1] / "minigrad" / "tokenizers" / "unicode16_classes.txt"
N_CODE_POINTS = 0x110000

#: White_Space in PropList.txt (Unicode 6.3 and later, 16.0.0 included): 25 code points.
WHITE_SPACE = [
    *range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029,
    0x202F, 0x205F, 0x3000,
]  # fmt: skip
CONTRACTION_LETTERS = "sdmtlver"
CLASS_ORDER = ["Lu", "Ll", "Lt", "Lm", "Lo", "M", "N", "WS"] + [
    f"CI_{c}" for c in CONTRACTION_LETTERS
]


def unicode_database():
    """The ``unicodedata``-like module holding Unicode 16.0.0, or exit with instructions."""
    try:
        import unicodedata2 as ucd
    except ImportError:
        import unicodedata as ucd
    if ucd.unidata_version != UNICODE_VERSION:
        sys.exit(
            f"need the Unicode {UNICODE_VERSION} database: `pip install "
            f"unicodedata2=={UNICODE_VERSION}` (found {ucd.__name__} {ucd.unidata_version})"
        )
    return ucd


def class_members(ucd) -> dict[str, list[int]]:
    """Every class of the file -> its code points, ascending."""
    members: dict[str, list[int]] = {c: [] for c in CLASS_ORDER}
    for cp in range(N_CODE_POINTS):
        cat = ucd.category(chr(cp))
        if cat in ("Lu", "Ll", "Lt", "Lm", "Lo"):
            members[cat].append(cp)
        elif cat[0] in "MN":
            members[cat[0]].append(cp)
    members["WS"] = sorted(WHITE_SPACE)
    import regex  # minigrad's dependency; used for the two small sets, each checked

    everything = "".join(map(chr, range(N_CODE_POINTS)))
    regex_ws = sorted(map(ord, regex.findall(r"\s", everything)))
    if regex_ws != members["WS"]:
        odd = sorted(set(regex_ws) ^ set(WHITE_SPACE))
        sys.exit(f"regex's \\s differs from White_Space at {odd}")
    for letter in CONTRACTION_LETTERS:
        found = sorted(map(ord, regex.findall(f"(?i:{letter})", everything)))
        long_s = {0x17F} if letter == "s" else set()  # LATIN SMALL LETTER LONG S folds to s
        expected = sorted({ord(letter), ord(letter.upper())} | long_s)
        if found != expected:
            sys.exit(f"(?i:{letter}) matches {found}, expected {expected}")
        members[f"CI_{letter}"] = found
    return members


def ranges(cps: list[int]) -> list[tuple[int, int]]:
    """Ascending code points -> maximal ``(first, last)`` runs."""
    out: list[tuple[int, int]] = []
    for cp in cps:
        if out and out[-1][1] == cp - 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def render(members: dict[str, list[int]], source: str) -> str:
    lines = [
        f"# unicode_version: {UNICODE_VERSION}",
        "# The Unicode classes of minigrad's split patterns, pinned to the Unicode version of",
        "# tiktoken's regex tables (tiktoken 0.14.0: Rust regex-syntax 0.8.11, Unicode 16.0.0).",
        f"# Generated by tools/gen_unicode_classes.py from {source}; do not edit by hand.",
        "# Line format: FIRST..LAST CLASS or CP CLASS (hex).  Classes: Lu Ll Lt Lm Lo (letters),",
        "# M (marks), N (numbers), WS (White_Space), CI_x (matches of (?i:x)).",
        "# Counts: "
        + ", ".join(f"{c} {len(members[c])}" for c in CLASS_ORDER if not c.startswith("CI_")),
    ]
    for cls in CLASS_ORDER:
        for a, b in ranges(members[cls]):
            lines.append(f"{a:04X} {cls}" if a == b else f"{a:04X}..{b:04X} {cls}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file")
    args = parser.parse_args(argv)
    ucd = unicode_database()
    text = render(class_members(ucd), f"{ucd.__name__} {ucd.unidata_version}")
    if args.check:
        same = OUT.read_text(encoding="utf-8") == text
        print(f"{OUT}: {'up to date' if same else 'DIFFERS from what the generator writes'}")
        return 0 if same else 1
    tmp = OUT.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(OUT)  # atomic: never a half-written data file
    print(f"wrote {OUT} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
