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

Why the code looks the way it does (the compiled path is ``tokenizers/fast/``; the tests hold
it to this module's plain Python path and both to tiktoken):

* Most chunks of real text repeat ("self", " the", "    "), so a bounded dict ``chunk -> ids``
  turns most of the work into one lookup per chunk.
* A chunk whose bytes are already a token maps to it directly (tiktoken does the same; it is
  not only faster, it is part of the rule tiktoken implements).
* Short chunks are merged by ``merge.byte_pair_encode``; long chunks (``"a" * 1_000_000``)
  would make its simple loop quadratic, so they go to the compiled O(n log n) heap merge
  (``fast.encoder.CompiledMerger``; ``merge.merge_heap`` is the same algorithm in Python).
* For the built-in patterns the whole encode is compiled (``fast.chunk_encoder``: UTF-8 bytes
  in, int32 ids out, the split by the compiled scanner, a bounded pre-token cache per thread,
  no Python object per chunk); long texts and batches use threads (``fast.parallel``).
  Custom patterns use the ``regex`` module (``_split``) and the per-chunk loop above.

What this module leaves out: training (``trainer.py``), the merge algorithms and table checks
(``merge.py``), the special-token policy (``special.py``), file formats (``io.py``) and the
streaming decoder (``decoding.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from minigrad.tokenizers import io as _io
from minigrad.tokenizers.corpus import check_train_args
from minigrad.tokenizers.decoding import check_id_types, id_list
from minigrad.tokenizers.merge import (
    HEAP_THRESHOLD,
    byte_pair_encode,
    validate_ranks,
    validate_special_tokens,
)
from minigrad.tokenizers.patterns import (
    builtin_name,
    compile_pattern,
    find_chunks,
    resolve_pattern,
)
from minigrad.tokenizers.pretokenize import replace_surrogates
from minigrad.tokenizers.special import allowed_specials, special_regex

if TYPE_CHECKING:
    from os import PathLike

    from minigrad.tokenizers.counts import ChunkCounts
    from minigrad.tokenizers.decoding import StreamingDecoder

#: Default ``num_threads`` of the encode methods (tiktoken's default for its batch methods).
DEFAULT_THREADS = 8
#: The special token tiktoken's ``eot_token`` names.
ENDOFTEXT = "<|endoftext|>"
#: The chunk cache of the regex path is cleared when it holds this many entries (bounded).
CACHE_CAPACITY = 1 << 18
#: Chunks longer than this many characters are not cached (they rarely repeat).
CACHE_MAX_CHUNK = 64


class UnknownTokenError(KeyError, ValueError):
    """An id that is neither a rank nor a special token id (a ``KeyError`` and a ``ValueError``)."""

    def __str__(self) -> str:  # KeyError's str() would add quotes around the message
        return str(self.args[0]) if self.args else ""


class BPETokenizer:
    """A byte-level BPE tokenizer with tiktoken's encoding rule and special-token policy.

    >>> ranks = {bytes([i]): i for i in range(256)} | {b"hi": 256}
    >>> tok = BPETokenizer(ranks, pattern="gpt4", special_tokens={"<|end|>": 257})
    >>> tok.encode("hi!<|end|>", allowed_special="all")
    [256, 33, 257]
    >>> tok.decode([256, 33])
    'hi!'

    ``pattern`` is a pattern name (tiktoken's encoding names such as "cl100k_base", or
    "gpt2", "gpt4", "o200k": the full list is ``patterns.PATTERN_NAMES``), a custom regex (which
    must match ordinary text; a chunk is a whole match, as in tiktoken, even with capturing
    groups), or None (no split: the whole text is one chunk).  An unknown name raises
    ``ValueError``.  The attribute keeps the regex *source*.  Surrogates in the text are
    replaced first, as tiktoken does (``pretokenize.replace_surrogates``).
    Treat ``mergeable_ranks`` and ``special_tokens`` as read-only.
    """

    def __init__(
        self,
        mergeable_ranks: dict[bytes, int],
        pattern: str | None = "gpt4",
        special_tokens: dict[str, int] | None = None,
        name: str = "minigrad-bpe",
    ) -> None:
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
        #: special tokens by their UTF-8 bytes, and their ids (encode_single_token, is_special)
        self._special_by_bytes = {t.encode("utf-8"): i for t, i in self.special_tokens.items()}
        self._special_ids = frozenset(self.special_tokens.values())
        #: name of the compiled scanner for this pattern, or None to use the regex
        self._fast: str | None = builtin_name(self.pattern)
        self._cache: dict[str | bytes, list[int]] = {}  # the regex path's chunk cache
        self._merger = None  # the numba merge tables, built on first need
        self._chunk_encoder = None  # fast.chunk_encoder.ChunkEncoder, built on first need

    @property
    def _regex(self):
        """The compiled split pattern, or None: compiled on first use (the reference path, or
        custom patterns), and shared through ``compile_pattern``'s cache."""
        return compile_pattern(self.pattern) if self.pattern is not None else None

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
        """Equal when pattern, ranks and special tokens are equal (the name is only a label)."""
        if not isinstance(other, BPETokenizer):
            return NotImplemented
        return (
            self.pattern == other.pattern
            and self.mergeable_ranks == other.mergeable_ranks
            and self.special_tokens == other.special_tokens
        )

    __hash__ = None  # type: ignore[assignment]  # mutable-looking tables: not hashable

    @property
    def name(self) -> str:
        """A label for the tokenizer, as tiktoken's ``Encoding.name`` ("cl100k_base"): settable,
        kept by ``save``/``load`` and copied by ``from_tiktoken``; equality ignores it."""
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"name must be a str, got {type(value).__name__}")
        self._name = value

    @property
    def n_vocab(self) -> int:
        """One more than the largest id (tiktoken's definition; there may be unused ids)."""
        return 1 + max(len(self.mergeable_ranks) - 1, *self.special_tokens.values(), -1)

    @property
    def max_token_value(self) -> int:
        """The largest id, ordinary or special (tiktoken's ``max_token_value``: ``n_vocab - 1``)."""
        return self.n_vocab - 1

    @property
    def eot_token(self) -> int:
        """The id of ``"<|endoftext|>"``; ``UnknownTokenError`` (a ``KeyError``, as tiktoken's)
        when this tokenizer has no such special token."""
        try:
            return self.special_tokens[ENDOFTEXT]
        except KeyError:
            raise UnknownTokenError(
                f"this tokenizer has no {ENDOFTEXT!r} special token "
                f"(its special tokens: {sorted(self.special_tokens)})"
            ) from None

    @property
    def special_tokens_set(self) -> set[str]:
        return set(self.special_tokens)

    def is_special_token(self, token: int) -> bool:
        """True iff ``token`` is the id of a special token (tiktoken's ``is_special_token``)."""
        if type(token) is not int:
            check_id_types([token])
        return token in self._special_ids

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

        ``vocab_size`` counts everything: 256 bytes + merges + special tokens.  Training stops
        early when no pair occurs ``min_frequency`` times, so ``n_vocab`` may come out smaller.

        >>> tok = BPETokenizer.train("low lower lowest " * 50, 260, special_tokens=["<eot>"])
        >>> tok.n_vocab, tok.special_tokens["<eot>"], tok.decode(tok.encode("lowest"))
        (260, 259, 'lowest')
        """
        specials = check_train_args(vocab_size, special_tokens, min_frequency)
        from minigrad.tokenizers.trainer import train_bpe  # lazy: keeps numba out of the import

        ranks = train_bpe(
            corpus,
            vocab_size,
            pattern=pattern,
            special_tokens=specials,
            min_frequency=min_frequency,
            show_progress=show_progress,
        )
        special_ids = {s: len(ranks) + i for i, s in enumerate(specials)}
        return cls(ranks, pattern=pattern, special_tokens=special_ids, name=name)

    @classmethod
    def train_from_counts(
        cls,
        counts: ChunkCounts | Mapping[Any, int] | Iterable[tuple[str | bytes, int]],
        vocab_size: int,
        pattern: str | None = "gpt4",
        special_tokens: Sequence[str] = (),
        min_frequency: int = 2,
        show_progress: bool = False,
        name: str = "minigrad-bpe",
    ) -> BPETokenizer:
        """``train`` from chunk counts instead of text: ``counts.count_chunks`` (also on a
        cluster: ``tokenizers.dask``), or any mapping / iterable of ``(chunk, count)``.

        ``train_from_counts(count_chunks(t), n)`` gives exactly ``train(t, n)``.  ``pattern``
        must be the one the counts were made with (a ``ChunkCounts`` records it, and another
        is refused); it is also the pattern the tokenizer splits with.  Special tokens get the
        ids after the ranks, as in ``train``.
        """
        from minigrad.tokenizers.counts import ranks_from_counts  # lazy: numba on demand

        specials = check_train_args(vocab_size, special_tokens, min_frequency)
        ranks = ranks_from_counts(
            counts,
            vocab_size,
            pattern=pattern,
            special_tokens=specials,
            min_frequency=min_frequency,
            show_progress=show_progress,
        )
        special_ids = {s: len(ranks) + i for i, s in enumerate(specials)}
        return cls(ranks, pattern=pattern, special_tokens=special_ids, name=name)

    # ---- encoding -------------------------------------------------------------------------
    def _split(self, text: str) -> list[str]:
        """Cut text into chunks with the ``regex`` module (custom patterns, and the reference
        for the compiled scanner that built-in patterns use)."""
        compiled = self._regex
        if compiled is None:
            return [text] if text else []
        return find_chunks(compiled, text)

    def _encode_piece(self, piece: bytes) -> list[int]:
        rank = self.mergeable_ranks.get(piece)
        if rank is not None:  # the whole chunk is a token: tiktoken's shortcut, part of its rule
            return [rank]
        if len(piece) > HEAP_THRESHOLD:
            return self._compiled_merger().encode_pieces([piece])[0]
        return byte_pair_encode(piece, self.mergeable_ranks)

    def _compiled_merger(self):
        if self._merger is None:
            from minigrad.tokenizers.fast.encoder import CompiledMerger

            self._merger = CompiledMerger(self.mergeable_ranks)
        return self._merger

    def _encode_chunks(self, chunks: Iterable[str | bytes]) -> list[int]:
        """Merge each chunk (a ``str`` from the regex, or ``bytes`` cut from the UTF-8 text) and
        concatenate the ids; repeated chunks hit the cache.  ``str`` and ``bytes`` keys share
        the cache without colliding (a ``str`` never equals a ``bytes``).
        """
        out: list[int] = []
        extend = out.extend
        cache = self._cache
        get = cache.get
        for chunk in chunks:
            ids = get(chunk)
            if ids is None:
                ids = self._encode_piece(chunk.encode() if isinstance(chunk, str) else chunk)
                if len(chunk) <= CACHE_MAX_CHUNK:
                    if len(cache) >= CACHE_CAPACITY:
                        cache.clear()
                    cache[chunk] = ids
            extend(ids)
        return out

    def _chunks(self):
        """The compiled encoder of a built-in pattern (``fast.chunk_encoder``)."""
        if self._chunk_encoder is None:
            from minigrad.tokenizers.fast.chunk_encoder import ChunkEncoder

            self._chunk_encoder = ChunkEncoder(self.mergeable_ranks, self._fast)
        return self._chunk_encoder

    def clear_cache(self) -> None:
        """Empty the pre-token caches (every thread's): the next encode starts cold."""
        self._cache.clear()
        if self._chunk_encoder is not None:
            self._chunk_encoder.clear_cache()

    def _encode_text(
        self, text: str, as_array: bool = False, num_threads: int = 1
    ) -> list[int] | np.ndarray:
        """Split ``text`` and merge its chunks (special tokens are ``encode``'s business); lone
        surrogates become U+FFFD first, as in tiktoken."""
        if self._fast is not None:
            from minigrad.tokenizers.fast.parallel import encode_parallel
            from minigrad.tokenizers.fast.pretokenize import encode_text

            encoder = self._chunks()
            ids = encode_parallel(encoder, encode_text(text), num_threads)
            return ids.astype(np.int64) if as_array else encoder.to_list(ids)
        out = self._encode_chunks(self._split(replace_surrogates(text)))
        return np.array(out, dtype=np.int64) if as_array else out

    def encode_ordinary(self, text: str, *, num_threads: int = DEFAULT_THREADS) -> list[int]:
        """Encode ``text``, treating special-token text as ordinary text.

        A long text (``fast.parallel.PARALLEL_MIN_BYTES``) with a built-in pattern is cut at
        safe points and encoded by up to ``num_threads`` threads: the same ids (``1``: no
        threads, as in tiktoken).

        >>> tok = BPETokenizer({bytes([i]): i for i in range(256)})
        >>> tok.encode_ordinary("hi")
        [104, 105]
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return self._encode_text(text, num_threads=_threads(num_threads))  # type: ignore[return-value]

    def encode(
        self,
        text: str,
        *,
        allowed_special: Literal["all"] | Collection[str] = frozenset(),
        disallowed_special: Literal["all"] | Collection[str] = "all",
        num_threads: int = DEFAULT_THREADS,
    ) -> list[int]:
        """Encode ``text``; special tokens follow tiktoken's policy.

        * ``allowed_special``: special tokens that become their own id when they appear in the
          text (``"all"`` for every one).  Names that are not special tokens are ignored.
        * ``disallowed_special``: special tokens whose text raises ``ValueError`` if it appears;
          the default ``"all"`` means every special token not allowed.  Pass ``()`` to encode
          such text as ordinary bytes instead.
        * ``num_threads``: as in ``encode_ordinary``.

        >>> tok = BPETokenizer({bytes([i]): i for i in range(256)}, special_tokens={"<s>": 256})
        >>> tok.encode("a<s>", allowed_special={"<s>"})
        [97, 256]
        >>> tok.encode("a<s>", disallowed_special=())
        [97, 60, 115, 62]
        """
        n = _threads(num_threads)
        allowed = allowed_specials(self.special_tokens, text, allowed_special, disallowed_special)
        if not allowed:
            return self._encode_text(text, num_threads=n)  # type: ignore[return-value]
        text = replace_surrogates(text)  # before cutting: a surrogate pair may not be cut apart
        out: list[int] = []
        start = 0
        for match in special_regex(allowed).finditer(text):
            out += self._encode_text(text[start : match.start()], num_threads=n)
            out.append(self.special_tokens[match.group()])
            start = match.end()
        out += self._encode_text(text[start:], num_threads=n)
        return out

    def encode_batch(
        self,
        texts: Sequence[str],
        *,
        num_threads: int = DEFAULT_THREADS,
        allowed_special: Literal["all"] | Collection[str] = frozenset(),
        disallowed_special: Literal["all"] | Collection[str] = "all",
    ) -> list[list[int]]:
        """``encode`` each text, with up to ``num_threads`` threads (tiktoken's API and default).

        The compiled kernels release the GIL, so the threads run on separate cores
        (``fast.parallel``); converting ids to Python lists still takes the GIL.
        """
        if isinstance(texts, str):
            raise TypeError("encode_batch takes a list of str; for one str use encode()")
        n = _threads(num_threads)
        texts = list(texts)
        honoured = [  # raises if a text holds a disallowed special token
            allowed_specials(self.special_tokens, t, allowed_special, disallowed_special)
            for t in texts
        ]
        if not any(honoured):
            return self.encode_ordinary_batch(texts, num_threads=n)
        from minigrad.tokenizers.fast.parallel import map_threads

        def one(t: str) -> list[int]:
            return self.encode(t, allowed_special=allowed_special, disallowed_special=(),
                               num_threads=1)  # fmt: skip

        return map_threads(one, texts, n)

    def encode_ordinary_batch(
        self, texts: Sequence[str], *, num_threads: int = DEFAULT_THREADS
    ) -> list[list[int]]:
        """``encode_ordinary`` of each text, with up to ``num_threads`` threads: the texts are
        dealt into one group of about equal bytes per thread (``fast.parallel.encode_batch``)."""
        if isinstance(texts, str):
            raise TypeError("encode_ordinary_batch takes a list of str; for one str use encode()")
        n = _threads(num_threads)
        texts = list(texts)
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"texts must hold str, got {type(t).__name__}")
        if self._fast is None:
            from minigrad.tokenizers.fast.parallel import map_threads

            return map_threads(self.encode_ordinary, texts, 1)  # regex path: holds the GIL
        from minigrad.tokenizers.fast.parallel import encode_batch
        from minigrad.tokenizers.fast.pretokenize import encode_text

        return encode_batch(self._chunks(), [encode_text(t) for t in texts], n)

    def encode_to_numpy(
        self,
        text: str,
        *,
        allowed_special: Literal["all"] | Collection[str] = frozenset(),
        disallowed_special: Literal["all"] | Collection[str] = "all",
        num_threads: int = DEFAULT_THREADS,
    ) -> np.ndarray:
        """``encode`` as an int64 array, ready for ``nn.Embedding`` (long texts skip the list)."""
        n = _threads(num_threads)
        if not allowed_specials(self.special_tokens, text, allowed_special, disallowed_special):
            return self._encode_text(text, as_array=True, num_threads=n)  # type: ignore[return-value]
        ids = self.encode(
            text, allowed_special=allowed_special, disallowed_special=disallowed_special,
            num_threads=n,
        )  # fmt: skip
        return np.array(ids, dtype=np.int64)

    def encode_single_token(self, text_or_bytes: str | bytes) -> int:
        """The id of a text or byte string that is exactly one token, else ``UnknownTokenError``
        (a ``KeyError``).  As in tiktoken, a ``str`` is looked up by its UTF-8 bytes, ordinary
        tokens first, then special tokens (``b"<|endoftext|>"`` finds the special, too).

        >>> tok = BPETokenizer({bytes([i]): i for i in range(256)}, special_tokens={"<s>": 256})
        >>> tok.encode_single_token("a"), tok.encode_single_token(b"<s>")
        (97, 256)
        """
        if isinstance(text_or_bytes, str):
            key = text_or_bytes.encode("utf-8")
        elif isinstance(text_or_bytes, (bytes, bytearray, memoryview)):
            key = bytes(text_or_bytes)
        else:  # bytes(5) would silently be b"\x00" * 5
            raise TypeError(
                f"encode_single_token takes a str or bytes, got {type(text_or_bytes).__name__}"
            )
        rank = self.mergeable_ranks.get(key)
        if rank is None:
            rank = self._special_by_bytes.get(key)
        if rank is None:
            raise UnknownTokenError(f"{text_or_bytes!r} is not a single token")
        return rank

    # ---- decoding -------------------------------------------------------------------------
    def decode_single_token_bytes(self, token: int) -> bytes:
        """The bytes of one id: ``tok.decode_single_token_bytes(104) == b"h"``."""
        if type(token) is not int:
            check_id_types([token])
        try:
            return self._decoder[token]
        except KeyError:
            raise UnknownTokenError(self._unknown_message(token)) from None

    def decode_bytes(self, tokens: Iterable[int]) -> bytes:
        """The exact bytes of ``tokens`` (special tokens give their UTF-8 text).

        Ids must be integers: Python ints or numpy integers (an integer array is fine); a float
        such as ``65.0`` or a bool raises ``TypeError`` (a dict lookup alone would take both as
        the int they equal).  An id that is not in the vocabulary raises ``UnknownTokenError``.
        """
        ids = id_list(tokens)
        dec = self._decoder
        try:
            return b"".join([dec[t] for t in ids])
        except KeyError as exc:  # the missing key is the offending id
            raise UnknownTokenError(self._unknown_message(exc.args[0])) from None

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

    def decode_with_offsets(self, tokens: Iterable[int]) -> tuple[str, list[int]]:
        """The text and, per token, the index of the character where it starts (tiktoken's
        ``decode_with_offsets``).  A token that starts inside a multi-byte character gets the
        index of that character (``offsets.char_offsets``).  As in tiktoken, bytes that are not
        valid UTF-8 raise ``UnicodeDecodeError`` (use ``decode_bytes`` for those).

        >>> tok = BPETokenizer({bytes([i]): i for i in range(256)} | {b"\\xa9!": 256})
        >>> tok.decode_with_offsets([104, 0xC3, 256])  # "hé!", with é cut between two tokens
        ('hé!', [0, 1, 1])
        """
        from minigrad.tokenizers.offsets import char_offsets

        token_bytes = self.decode_tokens_bytes(id_list(tokens))
        return b"".join(token_bytes).decode("utf-8", errors="strict"), char_offsets(token_bytes)

    def streaming_decoder(self, errors: str = "replace") -> StreamingDecoder:
        """A :class:`StreamingDecoder` for this tokenizer (text out as ids come in)."""
        from minigrad.tokenizers.decoding import StreamingDecoder

        return StreamingDecoder(self, errors=errors)

    def _unknown_message(self, token: object) -> str:
        return f"unknown token id {token}: ordinary ids are 0..{len(self.mergeable_ranks) - 1}" + (
            f", special ids {sorted(self.special_tokens.values())}" if self.special_tokens else ""
        )

    # ---- files (implemented in io.py) -------------------------------------------------------
    def save(self, path: str | PathLike[str]) -> None:
        """Write the tokenizer to ``path`` (format documented in ``minigrad.tokenizers.io``)."""
        _io.save(self, path)

    @classmethod
    def load(cls, path: str | PathLike[str]) -> BPETokenizer:
        """Read a file written by :meth:`save`; a damaged file raises ``ValueError``."""
        return _io.load(path, cls=cls)

    def save_tiktoken(self, path: str | PathLike[str]) -> None:
        """Write the ranks as a tiktoken ``.tiktoken`` file (pattern and specials are not kept)."""
        _io.save_tiktoken_ranks(self.mergeable_ranks, path)

    @classmethod
    def load_tiktoken(
        cls,
        path: str | PathLike[str],
        pattern: str | None = "gpt4",
        special_tokens: dict[str, int] | None = None,
        name: str = "minigrad-bpe",
    ) -> BPETokenizer:
        """Read a ``.tiktoken`` rank file; the pattern and specials must be given."""
        ranks = _io.load_tiktoken_ranks(path)
        return cls(ranks, pattern=pattern, special_tokens=special_tokens, name=name)

    def to_huggingface_json(self, path: str | PathLike[str]) -> None:
        """Export a Hugging Face ``tokenizer.json`` (see ``io.to_huggingface_json``)."""
        _io.to_huggingface_json(self, path)

    @classmethod
    def from_tiktoken(cls, encoding: object) -> BPETokenizer:
        """Copy the tables of a ``tiktoken.Encoding`` (no download: pass the object)."""
        return _io.from_tiktoken(encoding, cls=cls)


def _threads(num_threads: object) -> int:
    from minigrad.tokenizers.fast.parallel import check_threads  # no numba: numpy and re

    return check_threads(num_threads)


def _pattern_label(pattern: str | None) -> str:
    if pattern is None:
        return "None"
    return builtin_name(pattern) or "custom"
