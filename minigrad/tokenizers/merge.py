"""The rank table of byte-level BPE, and its merge rule on one chunk (two algorithms, same ids).

``validate_ranks`` / ``validate_special_tokens`` say what a valid table is.

tiktoken's rule: start from the chunk's bytes; while some adjacent pair of parts concatenates to
a token, join the pair whose concatenation has the lowest rank (the leftmost one on a tie).

>>> ranks = {bytes([i]): i for i in range(256)} | {b"aa": 256, b"aaa": 257, b"ab": 258}
>>> byte_pair_encode(b"aaab", ranks)
[257, 98]

* ``merge_small``: the direct loop, O(n*m) for n bytes and m merges, with the pair ranks in a
  list so that finding the minimum (``min``, ``list.index``) runs in C.  Best for short chunks,
  which are nearly all chunks of real text.
* ``merge_heap``: O(n log n) with a heap of candidate pairs over a linked list of parts, for
  long chunks (``"a" * 1_000_000`` is one chunk under every built-in pattern).  The tokenizer
  runs the same algorithm compiled (``fast.encoder.merge_chunks``); this is its reference.

A Hypothesis property in ``tests/tokenizers/test_bpe.py`` checks that the two agree on random
rank tables, and both against tiktoken.  What this module leaves out: the split into chunks, the
chunk cache and the whole-chunk shortcut (``bpe.BPETokenizer`` does those).
"""

from __future__ import annotations

import heapq

import numpy as np

from minigrad.tokenizers.pretokenize import replace_surrogates

#: Chunks longer than this many bytes are merged with the heap algorithm.
HEAP_THRESHOLD = 128


def validate_ranks(mergeable_ranks: dict[bytes, int]) -> dict[bytes, int]:
    """Check a ``bytes -> rank`` table and return a copy of it.

    The ranks must be exactly ``0 .. n-1`` (each once), and every single byte must be a token,
    otherwise some text could not be encoded.  Example: ``{bytes([i]): i for i in range(256)}``
    is the smallest valid table.
    """
    if not isinstance(mergeable_ranks, dict):
        raise TypeError(
            f"mergeable_ranks must be a dict[bytes, int], got {type(mergeable_ranks).__name__}"
        )
    ranks: dict[bytes, int] = {}
    for token, rank in mergeable_ranks.items():
        if not isinstance(token, bytes):
            raise TypeError(f"mergeable_ranks keys must be bytes, got {token!r}")
        if not isinstance(rank, (int, np.integer)) or isinstance(rank, bool):
            raise TypeError(f"rank of {token!r} must be an int, got {rank!r}")
        if not token:
            raise ValueError("mergeable_ranks contains the empty token b''")
        ranks[token] = int(rank)
    n = len(ranks)
    seen = set(ranks.values())
    if len(seen) != n or (n and (min(seen) != 0 or max(seen) != n - 1)):
        missing = sorted(set(range(n)) - seen)[:5]
        raise ValueError(
            f"ranks must be the integers 0..{n - 1}, each used once; "
            f"{n - len(seen)} duplicate(s), missing e.g. {missing}, "
            f"range seen {min(seen, default=None)}..{max(seen, default=None)}"
        )
    absent = [b for b in range(256) if bytes([b]) not in ranks]
    if absent:
        raise ValueError(
            f"all 256 single bytes must be tokens; {len(absent)} missing, e.g. "
            f"{[bytes([b]) for b in absent[:5]]}"
        )
    return ranks


#: How many unused ids may sit between the ranks and the special tokens, or among the special
#: tokens.  tiktoken's encodings leave a few (cl100k_base: 16, o200k_base: 19); far more than
#: that would only inflate ``n_vocab``, and with it every embedding table sized by it (a special
#: id of 10**12 asks for a trillion rows), so it is taken for a damaged file.
SPECIAL_ID_SLACK = 1024


def validate_special_tokens(special_tokens: dict[str, int] | None, n_ranks: int) -> dict[str, int]:
    """Check a ``str -> id`` table of special tokens against ``n_ranks`` ordinary tokens.

    Special ids follow the ranks: each is at least ``n_ranks`` and below
    ``n_ranks + len(special_tokens) + SPECIAL_ID_SLACK``, and no two are equal.
    """
    if special_tokens is None:
        return {}
    if not isinstance(special_tokens, dict):
        raise TypeError(
            f"special_tokens must be a dict[str, int], got {type(special_tokens).__name__}"
        )
    out: dict[str, int] = {}
    owner: dict[int, str] = {}
    for text, idx in special_tokens.items():
        if not isinstance(text, str) or not text:
            raise TypeError(f"special token names must be non-empty str, got {text!r}")
        if replace_surrogates(text) != text:
            raise ValueError(
                f"special token {text!r} holds a surrogate code point, which UTF-8 cannot encode"
            )
        if not isinstance(idx, (int, np.integer)) or isinstance(idx, bool) or idx < 0:
            raise ValueError(f"special token {text!r} needs a non-negative int id, got {idx!r}")
        idx = int(idx)
        if idx < n_ranks:
            raise ValueError(
                f"special token {text!r} has id {idx}, which is already the rank of an "
                f"ordinary token (ranks are 0..{n_ranks - 1}); use ids >= {n_ranks}"
            )
        limit = n_ranks + len(special_tokens) + SPECIAL_ID_SLACK
        if idx >= limit:
            raise ValueError(
                f"special token {text!r} has id {idx}; special ids must follow the ranks "
                f"(ids {n_ranks}..{limit - 1} for {len(special_tokens)} special token(s) after "
                f"{n_ranks} ranks, leaving at most {SPECIAL_ID_SLACK} ids unused)"
            )
        if idx in owner:
            raise ValueError(f"special tokens {owner[idx]!r} and {text!r} share the id {idx}")
        owner[idx] = text
        out[text] = idx
    return out


def merge_small(piece: bytes, ranks: dict[bytes, int], limit: int | None = None) -> list[bytes]:
    """tiktoken's rule on a short chunk, O(n*m) with the pair ranks kept in a list: the *parts*.

    With ``limit``, only tokens of rank below it may be formed (``io.recover_merges`` uses this
    to find the two parts each token was merged from).
    """
    parts = [piece[i : i + 1] for i in range(len(piece))]
    inf = len(ranks) if limit is None else limit  # no rank reaches it
    get = ranks.get
    pair_ranks = [get(parts[i] + parts[i + 1], inf) for i in range(len(parts) - 1)]
    while pair_ranks:
        best = min(pair_ranks)
        if best >= inf:
            break
        i = pair_ranks.index(best)  # leftmost pair with the lowest rank
        parts[i] += parts.pop(i + 1)
        del pair_ranks[i]
        # only the two pairs that touch the new part changed
        if i > 0:
            pair_ranks[i - 1] = get(parts[i - 1] + parts[i], inf)
        if i < len(pair_ranks):
            pair_ranks[i] = get(parts[i] + parts[i + 1], inf)
    return parts


def merge_heap(piece: bytes, ranks: dict[bytes, int]) -> list[int]:
    """The same rule in O(n log n): a heap of (rank, start) candidates over a linked list.

    Parts are named by their start offset; ``end[s]`` is where part ``s`` ends (so the next part
    starts there) and ``prev[s]`` is the start of the part before it.  Entries in the heap go
    stale when a neighbour merges; instead of deleting them we check on pop that the pair at
    ``start`` still has the popped rank (ranks are unique, so then it *is* that pair).  Popping the
    smallest ``(rank, start)`` is exactly "lowest rank, leftmost on a tie".
    """
    n = len(piece)
    end = list(range(1, n + 1))
    prev = list(range(-1, n - 1))
    get = ranks.get
    heap = [(r, i) for i in range(n - 1) if (r := get(piece[i : i + 2])) is not None]
    heapq.heapify(heap)
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        r, s = pop(heap)
        mid = end[s]
        if mid < 0 or mid >= n or get(piece[s : end[mid]]) != r:
            continue  # stale: s was absorbed, is now last, or its pair changed
        stop = end[mid]
        end[s] = stop
        end[mid] = -1  # the right part is gone
        if stop < n:
            prev[stop] = s
            rr = get(piece[s : end[stop]])
            if rr is not None:
                push(heap, (rr, s))
        p = prev[s]
        if p >= 0:
            rr = get(piece[p:stop])
            if rr is not None:
                push(heap, (rr, p))
    out = []
    s = 0
    while s < n:
        out.append(ranks[piece[s : end[s]]])
        s = end[s]
    return out


def byte_pair_encode(piece: bytes, ranks: dict[bytes, int]) -> list[int]:
    """Encode one chunk's bytes with tiktoken's rule (no chunk cache, no whole-chunk shortcut).

    >>> ranks = {bytes([i]): i for i in range(256)} | {b"aa": 256, b"ab": 257}
    >>> byte_pair_encode(b"aab", ranks)
    [256, 98]
    """
    if len(piece) <= 1:
        return [ranks[piece]] if piece else []
    if len(piece) > HEAP_THRESHOLD:
        return merge_heap(piece, ranks)
    return [ranks[p] for p in merge_small(piece, ranks)]
