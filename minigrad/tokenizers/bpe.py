"""Byte-level BPE encoding and decoding, with tiktoken's exact rules.

A byte-level BPE tokenizer is three tables and one rule:

* ``mergeable_ranks``: every token as raw bytes, mapped to its rank (which is also its id).  The
  256 single bytes are always in it, so any text can be encoded;
* ``pattern``: a regular expression that cuts text into chunks first (merges never cross a chunk
  boundary), or ``None`` for no cutting;
* ``special_tokens``: strings such as ``"<|endoftext|>"`` that map to one id of their own and are
  never produced by merging;
* the rule: within each chunk, start from its UTF-8 bytes and repeatedly join the adjacent pair
  whose concatenation has the lowest rank (the leftmost such pair on a tie), until no adjacent
  pair is a token.

Example::

    ranks: the 256 single bytes, then b"aa": 256, b"aaa": 257, b"ab": 258
    "aaab" -> bytes a a a b
           -> "aa" (256) is the lowest-ranked adjacent pair (the leftmost of two): aa a b
           -> "aaa" (257) beats "ab" (258): aaa b  -> ids [257, 98]

These are the semantics of OpenAI's tiktoken, so ``tiktoken.Encoding(name, pat_str=tok.pattern,
mergeable_ranks=tok.mergeable_ranks, special_tokens=tok.special_tokens)`` encodes identically.

Performance notes (why the code looks the way it does):

* Most chunks of real text repeat ("self", " the", "    "), so a bounded dict ``chunk -> ids``
  turns most of the work into one lookup per chunk.
* A chunk whose bytes are already a token maps to it directly (tiktoken does the same; it is
  not only faster, it is part of the rule tiktoken implements).
* Short chunks use the simple O(n*m) loop over a list of pair ranks (``min``/``index`` run in C).
* Long chunks (``"a" * 1_000_000``) would make that loop quadratic, so they use a heap of
  candidate pairs over a linked list of parts: O(n log n).
* ``encode_ordinary`` is ``split`` then ``_encode_chunks``, so a faster splitter (a compiled
  pre-tokenizer for the built-in patterns) can replace ``_split`` without touching the merges.

What this module leaves out: training (see ``trainer.py``), file formats (``io.py``) and the
streaming decoder (``decoding.py``).
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from minigrad.tokenizers.pretokenize import compile_pattern, resolve_pattern

if TYPE_CHECKING:
    from os import PathLike

    from minigrad.tokenizers.decoding import StreamingDecoder

#: Chunks longer than this many bytes are merged with the heap algorithm.
HEAP_THRESHOLD = 128
#: The chunk cache is cleared when it holds this many entries (a simple, bounded policy).
CACHE_CAPACITY = 1 << 18
#: Chunks longer than this many characters are not cached (they rarely repeat).
CACHE_MAX_CHUNK = 64


class UnknownTokenError(KeyError, ValueError):
    """An id that is neither a rank nor a special token id (a ``KeyError`` and a ``ValueError``)."""

    def __str__(self) -> str:  # KeyError's str() would add quotes around the message
        return str(self.args[0]) if self.args else ""


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


def validate_special_tokens(special_tokens: dict[str, int] | None, n_ranks: int) -> dict[str, int]:
    """Check a ``str -> id`` table of special tokens against ``n_ranks`` ordinary tokens."""
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
        if not isinstance(idx, (int, np.integer)) or isinstance(idx, bool) or idx < 0:
            raise ValueError(f"special token {text!r} needs a non-negative int id, got {idx!r}")
        idx = int(idx)
        if idx < n_ranks:
            raise ValueError(
                f"special token {text!r} has id {idx}, which is already the rank of an "
                f"ordinary token (ranks are 0..{n_ranks - 1}); use ids >= {n_ranks}"
            )
        if idx in owner:
            raise ValueError(f"special tokens {owner[idx]!r} and {text!r} share the id {idx}")
        owner[idx] = text
        out[text] = idx
    return out


def _merge_small(piece: bytes, ranks: dict[bytes, int]) -> list[int]:
    """tiktoken's rule on a short chunk: O(n*m) with the pair ranks kept in a list."""
    parts = [piece[i : i + 1] for i in range(len(piece))]
    inf = len(ranks)  # larger than any rank
    get = ranks.get
    pair_ranks = [get(parts[i] + parts[i + 1], inf) for i in range(len(parts) - 1)]
    while pair_ranks:
        best = min(pair_ranks)
        if best == inf:
            break
        i = pair_ranks.index(best)  # leftmost pair with the lowest rank
        parts[i] += parts.pop(i + 1)
        del pair_ranks[i]
        # only the two pairs that touch the new part changed
        if i > 0:
            pair_ranks[i - 1] = get(parts[i - 1] + parts[i], inf)
        if i < len(pair_ranks):
            pair_ranks[i] = get(parts[i] + parts[i + 1], inf)
    return [ranks[p] for p in parts]


def _merge_heap(piece: bytes, ranks: dict[bytes, int]) -> list[int]:
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
        return _merge_heap(piece, ranks)
    return _merge_small(piece, ranks)


def _fix_surrogates(text: str) -> str:
    # Lone surrogates cannot be UTF-8 encoded; tiktoken replaces them with U+FFFD like this.
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


class BPETokenizer:
    """A byte-level BPE tokenizer with tiktoken's encoding rule and special-token policy.

    >>> ranks = {bytes([i]): i for i in range(256)} | {b"hi": 256}
    >>> tok = BPETokenizer(ranks, pattern="gpt4", special_tokens={"<|end|>": 257})
    >>> tok.encode("hi!<|end|>", allowed_special="all")
    [256, 33, 257]
    >>> tok.decode([256, 33])
    'hi!'

    ``pattern`` is a built-in name ("gpt2", "gpt4"/"cl100k", "o200k"), a custom regex, or None
    (no split: the whole text is one chunk).  The attribute keeps the regex *source*.
    Treat ``mergeable_ranks`` and ``special_tokens`` as read-only.
    """

    def __init__(
        self,
        mergeable_ranks: dict[bytes, int],
        pattern: str | None = "gpt4",
        special_tokens: dict[str, int] | None = None,
        name: str = "minigrad-bpe",
    ) -> None:
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {type(name).__name__}")
        self.name = name
        self.mergeable_ranks: dict[bytes, int] = validate_ranks(mergeable_ranks)
        self.special_tokens: dict[str, int] = validate_special_tokens(
            special_tokens, len(self.mergeable_ranks)
        )
        self.pattern: str | None = resolve_pattern(pattern)
        self._build()

    def _build(self) -> None:
        """Derived state: decoder table, compiled regexes, cache (rebuilt after unpickling)."""
        self._decoder: dict[int, bytes] = {r: t for t, r in self.mergeable_ranks.items()}
        for text, idx in self.special_tokens.items():
            self._decoder[idx] = text.encode("utf-8", "surrogatepass")
        self._regex = compile_pattern(self.pattern) if self.pattern is not None else None
        self._special_regex_cache: dict[frozenset[str], re.Pattern[str]] = {}
        self._cache: dict[str, list[int]] = {}

    # ---- pickling: only the three tables travel; compiled state is rebuilt -------------------
    def __reduce__(self):
        return (
            type(self),
            (self.mergeable_ranks, self.pattern, self.special_tokens, self.name),
        )

    def __repr__(self) -> str:
        return (
            f"BPETokenizer(name={self.name!r}, n_vocab={self.n_vocab}, "
            f"specials={len(self.special_tokens)}, pattern={_pattern_label(self.pattern)})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BPETokenizer):
            return NotImplemented
        return (
            self.pattern == other.pattern
            and self.mergeable_ranks == other.mergeable_ranks
            and self.special_tokens == other.special_tokens
        )

    __hash__ = None  # type: ignore[assignment]  # mutable-looking tables: not hashable

    @property
    def n_vocab(self) -> int:
        """One more than the largest id (tiktoken's definition; there may be unused ids)."""
        return 1 + max(len(self.mergeable_ranks) - 1, *self.special_tokens.values(), -1)

    @property
    def special_tokens_set(self) -> set[str]:
        return set(self.special_tokens)

    # ---- training -------------------------------------------------------------------------
    @classmethod
    def train(
        cls,
        corpus: str | Iterable[str],
        vocab_size: int,
        pattern: str | None = "gpt4",
        special_tokens: Sequence[str] = (),
        min_frequency: int = 2,
        show_progress: bool = False,
        name: str = "minigrad-bpe",
    ) -> BPETokenizer:
        """Learn ranks with ``trainer.train_bpe``; special tokens get the ids after the ranks.

        ``vocab_size`` counts everything: 256 bytes + merges + special tokens.
        """
        if isinstance(special_tokens, str):
            raise TypeError(
                "special_tokens must be a sequence of str, not one str "
                f"(did you mean ({special_tokens!r},)?)"
            )
        specials = list(special_tokens)
        if len(set(specials)) != len(specials):
            raise ValueError(f"special_tokens contains duplicates: {specials}")
        from minigrad.tokenizers.trainer import train_bpe  # lazy: keeps import time small

        ranks = train_bpe(
            corpus,
            vocab_size,
            pattern=pattern,
            special_tokens=tuple(specials),
            min_frequency=min_frequency,
            show_progress=show_progress,
        )
        special_ids = {s: len(ranks) + i for i, s in enumerate(specials)}
        return cls(ranks, pattern=pattern, special_tokens=special_ids, name=name)

    # ---- encoding -------------------------------------------------------------------------
    def _split(self, text: str) -> list[str]:
        """Cut text into chunks (the regex reference; a compiled splitter may replace it)."""
        if self._regex is None:
            return [text] if text else []
        return self._regex.findall(text)

    def _encode_chunk(self, chunk: str) -> list[int]:
        piece = chunk.encode("utf-8")
        rank = self.mergeable_ranks.get(piece)
        if rank is not None:  # the whole chunk is a token: tiktoken's shortcut, part of its rule
            return [rank]
        return byte_pair_encode(piece, self.mergeable_ranks)

    def _encode_chunks(self, chunks: Iterable[str]) -> list[int]:
        """Merge each chunk and concatenate the ids; repeated chunks hit the cache."""
        out: list[int] = []
        extend = out.extend
        cache = self._cache
        get = cache.get
        for chunk in chunks:
            ids = get(chunk)
            if ids is None:
                ids = self._encode_chunk(chunk)
                if len(chunk) <= CACHE_MAX_CHUNK:
                    if len(cache) >= CACHE_CAPACITY:
                        cache.clear()
                    cache[chunk] = ids
            extend(ids)
        return out

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode ``text``, treating special-token text as ordinary text.

        >>> tok = BPETokenizer({bytes([i]): i for i in range(256)})
        >>> tok.encode_ordinary("hi")
        [104, 105]
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        try:
            return self._encode_chunks(self._split(text))
        except UnicodeEncodeError:
            return self._encode_chunks(self._split(_fix_surrogates(text)))

    def _special_regex(self, names: frozenset[str]) -> re.Pattern[str]:
        pat = self._special_regex_cache.get(names)
        if pat is None:
            # longest first, so that "<|a|>b" wins over its prefix "<|a|>" (deterministic)
            alts = sorted(names, key=lambda s: (-len(s), s))
            pat = re.compile("|".join(re.escape(s) for s in alts))
            self._special_regex_cache[names] = pat
        return pat

    def encode(
        self,
        text: str,
        *,
        allowed_special: Literal["all"] | Collection[str] = frozenset(),
        disallowed_special: Literal["all"] | Collection[str] = "all",
    ) -> list[int]:
        """Encode ``text``; special tokens follow tiktoken's policy.

        * ``allowed_special``: special tokens that become their own id when they appear in the
          text (``"all"`` for every one).  Names that are not special tokens are ignored.
        * ``disallowed_special``: special tokens whose text raises ``ValueError`` if it appears;
          the default ``"all"`` means every special token not allowed.  Pass ``()`` to encode
          such text as ordinary bytes instead.

        >>> tok = BPETokenizer({bytes([i]): i for i in range(256)}, special_tokens={"<s>": 256})
        >>> tok.encode("a<s>", allowed_special={"<s>"})
        [97, 256]
        >>> tok.encode("a<s>", disallowed_special=())
        [97, 60, 115, 62]
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        for arg, value in (
            ("allowed_special", allowed_special),
            ("disallowed_special", disallowed_special),
        ):
            if isinstance(value, str) and value != "all":
                raise TypeError(
                    f'{arg} must be "all" or a collection of str, got the str {value!r}'
                )
        specials = self.special_tokens
        allowed = (
            frozenset(specials) if allowed_special == "all" else frozenset(allowed_special)
        ) & frozenset(specials)
        if disallowed_special == "all":
            disallowed = frozenset(specials) - allowed
        else:
            disallowed = frozenset(disallowed_special)
        if disallowed:
            match = self._special_regex(disallowed).search(text)
            if match:
                raise ValueError(
                    f"the text contains the special token {match.group()!r} at offset "
                    f"{match.start()}, which is disallowed. Pass it in allowed_special to encode "
                    "it as a special token, or disallowed_special=() to encode it as text."
                )
        if not allowed:
            return self.encode_ordinary(text)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = _fix_surrogates(text)
        out: list[int] = []
        start = 0
        for match in self._special_regex(allowed).finditer(text):
            out += self._encode_chunks(self._split(text[start : match.start()]))
            out.append(specials[match.group()])
            start = match.end()
        out += self._encode_chunks(self._split(text[start:]))
        return out

    def encode_batch(
        self,
        texts: Sequence[str],
        *,
        allowed_special: Literal["all"] | Collection[str] = frozenset(),
        disallowed_special: Literal["all"] | Collection[str] = "all",
    ) -> list[list[int]]:
        """``encode`` each text in turn (one thread: use processes for parallelism)."""
        if isinstance(texts, str):
            raise TypeError("encode_batch takes a list of str; for one str use encode()")
        return [
            self.encode(t, allowed_special=allowed_special, disallowed_special=disallowed_special)
            for t in texts
        ]

    def encode_ordinary_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """``encode_ordinary`` each text in turn."""
        if isinstance(texts, str):
            raise TypeError("encode_ordinary_batch takes a list of str; for one str use encode()")
        return [self.encode_ordinary(t) for t in texts]

    def encode_to_numpy(
        self,
        text: str,
        *,
        allowed_special: Literal["all"] | Collection[str] = frozenset(),
        disallowed_special: Literal["all"] | Collection[str] = "all",
    ) -> np.ndarray:
        """``encode`` as an int64 array, ready for ``nn.Embedding``."""
        ids = self.encode(
            text, allowed_special=allowed_special, disallowed_special=disallowed_special
        )
        return np.array(ids, dtype=np.int64)

    def encode_single_token(self, text_or_bytes: str | bytes) -> int:
        """The id of a text that is exactly one token (ordinary or special), else ``KeyError``."""
        if isinstance(text_or_bytes, str):
            if text_or_bytes in self.special_tokens:
                return self.special_tokens[text_or_bytes]
            key = text_or_bytes.encode("utf-8")
        else:
            key = bytes(text_or_bytes)
        rank = self.mergeable_ranks.get(key)
        if rank is None:
            raise UnknownTokenError(f"{text_or_bytes!r} is not a single token")
        return rank

    # ---- decoding -------------------------------------------------------------------------
    def decode_single_token_bytes(self, token: int) -> bytes:
        """The bytes of one id: ``tok.decode_single_token_bytes(104) == b"h"``."""
        try:
            return self._decoder[token]
        except (KeyError, TypeError):
            raise UnknownTokenError(self._unknown_message(token)) from None

    def decode_bytes(self, tokens: Iterable[int]) -> bytes:
        """The exact bytes of ``tokens`` (special tokens give their UTF-8 text)."""
        dec = self._decoder
        try:
            return b"".join([dec[t] for t in tokens])
        except (KeyError, TypeError):
            for t in tokens:
                if not isinstance(t, (int, np.integer)) or t not in dec:
                    raise UnknownTokenError(self._unknown_message(t)) from None
            raise

    def decode(self, tokens: Iterable[int], errors: str = "replace") -> str:
        """Decode ids to text.  Bytes that are not valid UTF-8 (a character cut between tokens
        that never gets finished, or ids chosen at random) become U+FFFD with the default
        ``errors="replace"``; ``errors="strict"`` raises instead.
        """
        return self.decode_bytes(tokens).decode("utf-8", errors=errors)

    def decode_batch(self, batch: Iterable[Iterable[int]], errors: str = "replace") -> list[str]:
        return [self.decode(ids, errors=errors) for ids in batch]

    def decode_tokens_bytes(self, tokens: Iterable[int]) -> list[bytes]:
        """One ``bytes`` per id: useful to show where the token boundaries fall."""
        return [self.decode_single_token_bytes(t) for t in tokens]

    def streaming_decoder(self, errors: str = "replace") -> StreamingDecoder:
        """A :class:`StreamingDecoder` for this tokenizer (text out as ids come in)."""
        from minigrad.tokenizers.decoding import StreamingDecoder

        return StreamingDecoder(self, errors=errors)

    def _unknown_message(self, token: object) -> str:
        if not isinstance(token, (int, np.integer)) or isinstance(token, bool):
            return f"token ids must be ints, got {token!r} ({type(token).__name__})"
        return f"unknown token id {token}: ordinary ids are 0..{len(self.mergeable_ranks) - 1}" + (
            f", special ids {sorted(self.special_tokens.values())}" if self.special_tokens else ""
        )

    # ---- files (implemented in io.py) -------------------------------------------------------
    def save(self, path: str | PathLike[str]) -> None:
        """Write the tokenizer to ``path`` (format documented in ``minigrad.tokenizers.io``)."""
        from minigrad.tokenizers import io

        io.save(self, path)

    @classmethod
    def load(cls, path: str | PathLike[str]) -> BPETokenizer:
        """Read a file written by :meth:`save`; a damaged file raises ``ValueError``."""
        from minigrad.tokenizers import io

        return io.load(path, cls=cls)

    def save_tiktoken(self, path: str | PathLike[str]) -> None:
        """Write the ranks as a tiktoken ``.tiktoken`` file (pattern and specials are not kept)."""
        from minigrad.tokenizers import io

        io.save_tiktoken_ranks(self.mergeable_ranks, path)

    @classmethod
    def load_tiktoken(
        cls,
        path: str | PathLike[str],
        pattern: str | None = "gpt4",
        special_tokens: dict[str, int] | None = None,
        name: str = "minigrad-bpe",
    ) -> BPETokenizer:
        """Read a ``.tiktoken`` rank file; the pattern and specials must be given."""
        from minigrad.tokenizers import io

        ranks = io.load_tiktoken_ranks(path)
        return cls(ranks, pattern=pattern, special_tokens=special_tokens, name=name)

    def to_huggingface_json(self, path: str | PathLike[str]) -> None:
        """Export a Hugging Face ``tokenizer.json`` (see ``io.to_huggingface_json``)."""
        from minigrad.tokenizers import io

        io.to_huggingface_json(self, path)

    @classmethod
    def from_tiktoken(cls, encoding: object) -> BPETokenizer:
        """Copy the tables of a ``tiktoken.Encoding`` (no download: pass the object)."""
        from minigrad.tokenizers import io

        return io.from_tiktoken(encoding, cls=cls)


def _pattern_label(pattern: str | None) -> str:
    from minigrad.tokenizers.pretokenize import PATTERNS

    for name, src in PATTERNS.items():
        if src == pattern:
            return name
    return "None" if pattern is None else "custom"
