"""The naive byte-level BPE trainer: short, slow, obviously correct.  The test oracle.

Byte-pair encoding starts from the 256 single bytes and repeatedly glues the most frequent
adjacent pair of tokens into a new token.  Worked example on the corpus ``"aaab aab"`` with no
split pattern (one chunk, bytes ``a a a b ␠ a a b``):

* pair counts: (a, a) 2, (a, b) 2, (b, ␠) 1, (␠, a) 1.  (a, a) and (a, b) tie at 2; the tie rule
  below picks (a, a) (97, 97) < (97, 98).  New token ``b"aa"`` gets rank 256:
  ``aa a b ␠ aa b``;
* now (aa, b) occurs once, (a, b) once, ...: all counts are 1 and ``min_frequency=2`` stops it.

The rules (the fast trainer in ``trainer.py`` obeys the same ones, and a property test holds the
two to identical output):

* **Counting.**  A pair's count in a chunk is the number of times merging it would replace it:
  occurrences are counted left to right without overlap, so ``"aaaaa"`` holds two (a, a), not
  four.  A chunk that occurs ``n`` times in the corpus adds ``n`` times its count.
* **Ties.**  Among the pairs with the highest count, the smallest ``(left id, right id)`` wins,
  where a token's id is its rank.  Nothing depends on where a pair first appeared, so the result
  does not depend on the order of the corpus.
* **Merging** replaces occurrences left to right without overlap (``a a a`` → ``aa a``).
* **Stopping.**  After ``vocab_size - len(special_tokens) - 256`` new tokens, or earlier when the
  best count is below ``min_frequency`` (or no pair is left).
* **Repeated bytes.**  Two different pairs can spell the same bytes (``ab + c`` and ``a + bc``).
  The second such merge is still applied, but it reuses the existing token (and rank) instead
  of adding a new one, because ranks map bytes to ids.  Only new tokens count towards
  ``vocab_size``.

What it leaves out: speed.  Every merge recounts every pair of every distinct chunk, so the cost
is (merges x tokens in the distinct chunks), fine for kilobytes, minutes for a megabyte.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from itertools import pairwise

from minigrad.tokenizers.corpus import check_train_args, count_chunks


def pair_counts(ids: Sequence[int]) -> dict[tuple[int, int], int]:
    """Count adjacent pairs left to right without overlap.

    >>> pair_counts([97, 97, 97, 97, 97, 98])
    {(97, 97): 2, (97, 98): 1}
    """
    counts: dict[tuple[int, int], int] = {}
    skip = False  # True right after counting (x, x): the next (x, x) overlaps it
    for a, b in pairwise(ids):
        if a == b and skip:
            skip = False
            continue
        counts[a, b] = counts.get((a, b), 0) + 1
        skip = a == b
    return counts


def merge(ids: Sequence[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace each occurrence of ``pair`` (left to right, no overlap) by ``new_id``.

    >>> merge([1, 1, 1, 2], (1, 1), 9)
    [9, 1, 2]
    """
    out: list[int] = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def train_naive(
    corpus: str | os.PathLike | Iterable[str | os.PathLike],
    vocab_size: int,
    *,
    pattern: str | None = "gpt4",
    special_tokens: Sequence[str] = (),
    min_frequency: int = 2,
) -> dict[bytes, int]:
    """Train byte-level BPE ranks the slow, obvious way (same contract as ``train_bpe``).

    Returns ``{token bytes: rank}``: the 256 single bytes at ranks 0..255, then one new token per
    merge in merge order.  See the module docstring for the counting, tie and stopping rules.

    >>> ranks = train_naive("aaab aab", 257, pattern=None)
    >>> [tok for tok, rank in ranks.items() if rank >= 256]
    [b'aa']
    """
    specials = check_train_args(vocab_size, special_tokens, min_frequency)
    chunk_counts = count_chunks(corpus, pattern, specials)
    # Chunks of one byte hold no pair: leave them out.
    words = [(list(c.encode("utf-8")), n) for c, n in chunk_counts.items()]
    words = [(ids, n) for ids, n in words if len(ids) > 1]

    ranks = {bytes([i]): i for i in range(256)}
    token_bytes = [bytes([i]) for i in range(256)]  # id -> bytes
    while len(ranks) < vocab_size - len(specials):
        counts: dict[tuple[int, int], int] = {}
        for ids, n in words:
            for pair, k in pair_counts(ids).items():
                counts[pair] = counts.get(pair, 0) + k * n
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))  # highest count, then smallest ids
        if counts[best] < max(min_frequency, 1):
            break
        new_bytes = token_bytes[best[0]] + token_bytes[best[1]]
        new_id = ranks.setdefault(new_bytes, len(ranks))  # existing bytes keep their rank
        if new_id == len(token_bytes):
            token_bytes.append(new_bytes)
        words = [(merge(ids, best, new_id), n) for ids, n in words]
    return ranks
