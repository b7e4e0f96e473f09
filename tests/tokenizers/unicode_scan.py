"""Helpers that compare minigrad's split with tiktoken's on (very) many code points at once.

Two questions, asked in bulk because one tiktoken call per code point would take minutes:

1. **Which code points are in a class?**  :func:`tiktoken_members` builds a tiktoken encoding
   whose split pattern is just the class (``\\p{L}``) and whose vocabulary is the 256 bytes, and
   encodes one string holding every code point: the ids are the UTF-8 bytes of exactly the
   characters the class matched, in order.  Exact, one call per class.

2. **Where does the chunk holding a code point end, in context?**  tiktoken does not return its
   chunks, only ids, and a plain byte vocabulary makes chunk boundaries invisible.  So each code
   point ``c`` (2 to 4 UTF-8 bytes) is written between copies of a short ASCII *gap* (``"'s "``,
   ``"12\\n"``...), and the vocabulary is the 256 bytes plus *edge chains*: for every
   continuation byte ``X`` and ``k = 1..len(gap)``, the token ``X + gap[:k]``, and for every
   UTF-8 lead byte ``L``, the token ``gap[-k:] + L``.  Within one chunk, BPE can only merge
   across the edges of ``c`` (no token joins two ASCII bytes, none joins the bytes inside a
   character), and each chain grows one byte at a time until the chunk ends.  So the ids say,
   for every ``c``, how many gap bytes its chunk takes on the left (``l``) and on the right
   (``r``): :func:`tiktoken_extents`.  :func:`minigrad_extents` reads the same from minigrad's
   chunk bounds.  Equal extents for every ``c`` mean the chunk holding ``c`` is the same in both;
   the chunks between are pure ASCII text that follows a chunk end, which both cut alike
   (``findall`` restarts at each chunk end and the patterns never look behind).  The gaps are
   chosen so that no chunk can hold two code points (:func:`minigrad_extents` checks).

ASCII code points are one byte, so their two chains would compete; the tests compare them
chunk by chunk with :func:`exact_chunks_match` instead (a vocabulary holding every chunk and
every run of consecutive chunks, so any other cut shows).
"""

from __future__ import annotations

from functools import cache

import numpy as np

N_CODE_POINTS = 0x110000


def all_code_points() -> np.ndarray:
    """The 1,112,064 Unicode scalar values (every code point but the surrogates), int64."""
    cps = np.arange(N_CODE_POINTS, dtype=np.int64)
    return cps[(cps < 0xD800) | (cps > 0xDFFF)]


def utf8_width(cps: np.ndarray) -> np.ndarray:
    """UTF-8 length of each code point (1-4)."""
    return 1 + (cps >= 0x80) + (cps >= 0x800) + (cps >= 0x10000).astype(np.int64)


def as_text(cps: np.ndarray) -> str:
    """The code points as one string (via UTF-32, fast for a million of them)."""
    return cps.astype("<u4").tobytes().decode("utf-32-le")


def byte_tokenizer_ranks() -> dict[bytes, int]:
    return {bytes([b]): b for b in range(256)}


def tiktoken_members(class_pattern: str, cps: np.ndarray) -> np.ndarray:
    """The code points among ``cps`` that tiktoken's regex matches with ``class_pattern`` (a
    one-character class), ascending.  The probe matches maximal runs (``(?:class)+``): the
    characters of all runs are the members, with far fewer chunks than one per character."""
    import tiktoken

    enc = tiktoken.Encoding(
        "class-probe", pat_str=f"(?:{class_pattern})+", mergeable_ranks=byte_tokenizer_ranks(),
        special_tokens={},
    )  # fmt: skip
    ids = enc.encode_ordinary(as_text(cps))
    hits = bytes(ids).decode("utf-8")
    return np.frombuffer(hits.encode("utf-32-le"), dtype="<u4").astype(np.int64)


@cache
def stand_in_code_points() -> np.ndarray:
    """The first, middle and last code point of every run of consecutive code points that all
    splitters see alike: same pinned classes (the scanners' table), same classes in the
    installed ``regex`` (which the reference path corrects), same UTF-8 length.  Every code
    point where ``regex`` and the pinned tables disagree is in such a run, so it is covered."""
    from minigrad.tokenizers import unicode_pinned
    from minigrad.tokenizers.fast import unicode_table as ut

    cps = all_code_points()
    table = ut.class_table()[cps].astype(np.int64)
    theirs = unicode_pinned._regex_members()
    regex_bits = np.zeros(len(cps), dtype=np.int64)
    for bit, prop in enumerate(("Lu", "Ll", "Lt", "Lm", "Lo", "M", "N", "s")):
        regex_bits |= theirs[prop][cps].astype(np.int64) << bit
    keys = table | (regex_bits << 16) | (utf8_width(cps) << 32)
    return representatives(keys, cps)


def representatives(keys: np.ndarray, cps: np.ndarray) -> np.ndarray:
    """The first, middle and last code point of every run of consecutive ``cps`` with equal
    ``keys``: one stands for all, when the key holds everything a splitter looks at."""
    edges = np.flatnonzero(np.diff(keys) != 0) + 1
    first = np.concatenate(([0], edges))
    last = np.concatenate((edges, [len(cps)])) - 1
    return cps[np.unique(np.concatenate((first, (first + last) // 2, last)))]


# ---- chunk extents in context ---------------------------------------------------------------
LEAD_BYTES = range(0xC2, 0xF5)
CONTINUATION_BYTES = range(0x80, 0xC0)


class EdgeChains:
    """The vocabulary of edge chains for one gap, and how to read extents back from ids."""

    def __init__(self, gap: str) -> None:
        g = gap.encode("ascii")
        self.gap = gap
        ranks = byte_tokenizer_ranks()
        left_k, right_k = {}, {}
        for k in range(1, len(g) + 1):
            for x in CONTINUATION_BYTES:
                right_k[len(ranks)] = k
                ranks[bytes([x]) + g[:k]] = len(ranks)
            for lead in LEAD_BYTES:
                left_k[len(ranks)] = k
                ranks[g[-k:] + bytes([lead])] = len(ranks)
        self.ranks = ranks
        n = len(ranks)
        self.left = np.zeros(n, dtype=np.int64)
        self.right = np.zeros(n, dtype=np.int64)
        self.left[list(left_k)] = list(left_k.values())
        self.right[list(right_k)] = list(right_k.values())
        self.length = np.array([len(t) for t in sorted(ranks, key=ranks.get)], dtype=np.int64)

    def stream(self, cps: np.ndarray) -> tuple[str, np.ndarray, np.ndarray]:
        """``(text, starts, widths)``: ``gap + c1 + gap + c2 + ... + gap`` and the byte offset
        and UTF-8 width of every code point in it."""
        text = self.gap + self.gap.join(as_text(cps)) + self.gap
        width = utf8_width(cps)
        starts = len(self.gap) + np.concatenate(([0], np.cumsum(width + len(self.gap))[:-1]))
        return text, starts, width

    def extents(self, ids: np.ndarray, starts: np.ndarray, width: np.ndarray):
        """``(l, r)`` per code point, read from tiktoken's ids for ``stream(cps)``."""
        ids = np.asarray(ids, dtype=np.int64)
        token_start = np.concatenate(([0], np.cumsum(self.length[ids])[:-1]))
        at_lead = np.searchsorted(token_start, starts, side="right") - 1
        at_last = np.searchsorted(token_start, starts + width - 1, side="right") - 1
        return self.left[ids[at_lead]], self.right[ids[at_last]]


def minigrad_extents(bounds: np.ndarray, starts: np.ndarray, width: np.ndarray, gap: str):
    """``(l, r)`` per code point from minigrad's chunk bounds (UTF-8 byte offsets), clipped to
    the gap as the chains are; raises if one chunk holds two code points (the reading of
    :class:`EdgeChains` would not apply)."""
    k = np.searchsorted(bounds, starts, side="right") - 1
    chunk_start, chunk_end = bounds[k], bounds[k + 1]
    shared = chunk_end[:-1] > starts[1:]
    if shared.any():
        i = int(np.flatnonzero(shared)[0])
        raise AssertionError(f"gap {gap!r}: one chunk holds code points #{i} and #{i + 1}")
    left = np.minimum(starts - chunk_start, len(gap))
    right = np.minimum(chunk_end - (starts + width), len(gap))
    return left, right


def exact_chunks_match(texts: list[str], chunks: list[list[str]], pattern_source: str) -> list:
    """The texts whose tiktoken chunks differ from ``chunks`` (minigrad's).

    The vocabulary holds every chunk and every run of consecutive chunks of each text as one
    token, so whatever tiktoken cuts differently yields other ids: a piece that is a run of
    several of minigrad's chunks is one token of its own, and a piece that ends inside one of
    minigrad's chunks leaves that chunk's token out.
    """
    import tiktoken

    ranks = byte_tokenizer_ranks()
    for parts in chunks:
        encoded = [p.encode("utf-8") for p in parts]
        for i in range(len(encoded)):
            for j in range(i + 1, len(encoded) + 1):
                ranks.setdefault(b"".join(encoded[i:j]), len(ranks))
    enc = tiktoken.Encoding(
        "exact-chunks", pat_str=pattern_source, mergeable_ranks=ranks, special_tokens={}
    )
    bad = []
    for text, parts in zip(texts, chunks):
        want = [ranks[p.encode("utf-8")] for p in parts]
        if enc.encode_ordinary(text) != want:
            bad.append(text)
    return bad
