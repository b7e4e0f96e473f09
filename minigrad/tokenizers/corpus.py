"""Turning a training corpus into chunk counts: the part both BPE trainers share.

BPE training never looks across chunk boundaries, so a corpus of any size boils down to one
table: each distinct chunk (a piece of text the split pattern produced) and how often it occurs.
Both trainers (``naive_trainer.train_naive`` and ``trainer.train_bpe``) start from that table.

    >>> count_chunks("hi hi hi", "gpt4")
    Counter({' hi': 2, 'hi': 1})

What a corpus may be
--------------------
* a ``str``: the text itself.  A ``str`` is **always text, never a file name**;
* an ``os.PathLike`` (for example ``pathlib.Path("data.txt")``): a UTF-8 file, streamed;
* an iterable whose items are each a ``str`` (a document) or an ``os.PathLike`` (a file).

Each document and each file is split on its own: no chunk spans two of them.  Special tokens
(``<|endoftext|>`` and the like) are cut out of the text before splitting, so they never take part
in training and never glue the text on their two sides together.

Streaming rule for files
------------------------
A file is read in blocks of characters.  Each block is cut at its last *safe point*, one of

* just before a space that has a letter (``\\p{L}``) on both sides: ``"the| cat"``;
* just after a line feed that follows a non-space and precedes a letter: ``"x = 1\\n|print"``.

For the built-in patterns no chunk can run across a safe point (a space before letters always
starts a new chunk; a lone line feed before a letter is a chunk of its own, or ends a run of
punctuation), so the chunks of a streamed file are exactly the chunks of the whole file split at
once; the tests check this on generated text with tiny blocks.  Text after the last safe point
is carried over to the next block.  A block without a safe point (say, one long line of CJK text
or digits) is kept and the next block appended, so memory grows with the longest stretch without
a safe point, not with the file.  A safe point where a special token would straddle the cut is
skipped.  Two caveats: with ``pattern=None`` a file is read whole (it is one chunk, by
definition); and a custom pattern whose chunks can run across a safe point will see them cut
there (use the built-in patterns for files).
Files are read with ``newline=""``: line endings are kept exactly as they are in the file.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence

import regex

from minigrad.tokenizers.patterns import compile_pattern, find_chunks, resolve_pattern
from minigrad.tokenizers.pretokenize import replace_surrogates
from minigrad.tokenizers.special import special_regex

#: characters per block when streaming a file (1 MiB of text at one byte per character)
BLOCK_CHARS = 1 << 20

# The safe cut point: a space with a letter on both sides.  Searched from the end of a block.
SAFE_CUT = regex.compile(r"(?<=\p{L})(?= \p{L})|(?<=\S\n)(?=\p{L})", flags=regex.REVERSE)


def check_train_args(
    vocab_size: int, special_tokens: Sequence[str], min_frequency: int
) -> tuple[str, ...]:
    """Validate the trainer arguments; return the special tokens as a tuple."""
    if isinstance(special_tokens, str):
        raise TypeError(
            f"special_tokens must be a sequence of str, not one str ({special_tokens!r}); "
            f"write special_tokens=[{special_tokens!r}]"
        )
    specials = tuple(special_tokens)
    for s in specials:
        if not isinstance(s, str) or not s:
            raise ValueError(f"special tokens must be non-empty str, got {s!r}")
        if replace_surrogates(s) != s:
            raise ValueError(f"special token {s!r} holds a surrogate, which UTF-8 cannot encode")
    if len(set(specials)) != len(specials):
        raise ValueError(
            f"special_tokens contains duplicates (they must be distinct): {list(specials)}"
        )
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int):
        raise TypeError(f"vocab_size must be an int, got {type(vocab_size).__name__}")
    if vocab_size < 256 + len(specials):
        raise ValueError(
            f"vocab_size must be at least 256 + {len(specials)} special tokens = "
            f"{256 + len(specials)}, got {vocab_size}"
        )
    if isinstance(min_frequency, bool) or not isinstance(min_frequency, int):
        raise TypeError(f"min_frequency must be an int, got {type(min_frequency).__name__}")
    if min_frequency < 0:
        raise ValueError(f"min_frequency must be >= 0, got {min_frequency}")
    return specials


def _straddles(buf: str, cut: int, specials: tuple[str, ...]) -> bool:
    """Could a special token start before ``cut`` and end after it?  (Checks prefixes only.)"""
    for s in specials:
        for j in range(1, min(len(s), cut + 1)):
            if buf.startswith(s[:j], cut - j):
                return True
    return False


def _find_cut(buf: str, start: int, specials: tuple[str, ...]) -> int:
    """The last safe cut point in ``buf[start:]`` (see the module docstring), or -1."""
    for m in SAFE_CUT.finditer(buf, start):
        if not _straddles(buf, m.start(), specials):
            return m.start()
    return -1


def iter_file_blocks(
    path: os.PathLike, block_chars: int | None, specials: tuple[str, ...]
) -> Iterator[str]:
    """Yield the text of ``path`` in pieces cut only at safe points (module docstring).

    ``block_chars=None`` reads the whole file as one piece.
    """
    parts: list[str] = []
    try:
        with open(path, encoding="utf-8", errors="strict", newline="") as f:
            while True:
                block = f.read() if block_chars is None else f.read(block_chars)
                if not block:
                    break
                parts.append(block)
                if len(parts) == 1:
                    buf, start = block, 0
                else:
                    buf = "".join(parts)
                    start = len(buf) - len(block)
                cut = -1 if block_chars is None else _find_cut(buf, start, specials)
                if cut <= 0:
                    parts = [buf]  # no safe point yet: keep reading
                    continue
                yield buf[:cut]
                parts = [buf[cut:]]
    except UnicodeDecodeError as exc:
        raise ValueError(f"{os.fspath(path)!r} is not valid UTF-8: {exc}") from None
    tail = "".join(parts)
    if tail:
        yield tail


def iter_documents(
    corpus: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    stream: bool,
    block_chars: int,
    specials: tuple[str, ...],
) -> Iterator[Iterator[str]]:
    """Yield one iterator of text pieces per document (a str) or file (an ``os.PathLike``)."""
    if isinstance(corpus, str):
        yield iter((corpus,))
        return
    if isinstance(corpus, os.PathLike):
        corpus = [corpus]
    if isinstance(corpus, (bytes, bytearray, memoryview)):
        raise TypeError("corpus must be str, os.PathLike or an iterable of them, not bytes")
    try:
        items = iter(corpus)
    except TypeError:
        raise TypeError(
            f"corpus must be a str, an os.PathLike or an iterable of them, "
            f"got {type(corpus).__name__}"
        ) from None
    for item in items:
        if isinstance(item, str):
            yield iter((item,))
        elif isinstance(item, os.PathLike):
            yield iter_file_blocks(item, block_chars if stream else None, specials)
        else:
            raise TypeError(
                f"corpus items must be str (text) or os.PathLike (a file, e.g. pathlib.Path), "
                f"got {type(item).__name__}: {item!r:.80}"
            )


def iter_segments(
    corpus: str | os.PathLike | Iterable[str | os.PathLike],
    pattern_source: str | None,
    specials: tuple[str, ...],
    block_chars: int = BLOCK_CHARS,
) -> Iterator[str]:
    """Yield the non-empty pieces of text between special tokens, document by document.

    Each piece is split on its own; files come in pieces cut at safe points (module docstring),
    except with ``pattern_source=None`` where a file is one piece.  Surrogates in a ``str``
    document are replaced first (``pretokenize.replace_surrogates``, the policy of encoding too).
    """
    cutter = special_regex(frozenset(specials)) if specials else None
    for pieces in iter_documents(
        corpus, stream=pattern_source is not None, block_chars=block_chars, specials=specials
    ):
        for text in pieces:
            text = replace_surrogates(text)
            for seg in cutter.split(text) if cutter is not None else (text,):
                if seg:
                    yield seg


EMPTY_CORPUS = "the corpus holds no text to train on (empty, or only special tokens)"


def count_chunks(
    corpus: str | os.PathLike | Iterable[str | os.PathLike],
    pattern: str | None = "gpt4",
    special_tokens: Sequence[str] = (),
    *,
    block_chars: int = BLOCK_CHARS,
    poll: Callable[[], None] | None = None,
) -> Counter[str]:
    """Count the distinct chunks of ``corpus``: ``{chunk: occurrences}``, with ``regex``.

    The reference counter (the naive trainer's, and custom patterns'); the public
    ``minigrad.tokenizers.count_chunks`` (``counts.py``) returns a ``ChunkCounts`` from the
    compiled one, and the tests hold the two equal.

    Special tokens are removed first (the text between them is split piece by piece), then each
    piece is split with ``pattern`` (a built-in name, a regex, or ``None`` for "no split"); a
    chunk is a whole match of the pattern, even if it has capturing groups.  ``poll`` is called
    after each piece (the trainer's Ctrl-C check).
    Raises ``ValueError`` when the corpus holds no text at all.
    """
    source = resolve_pattern(pattern)
    compiled = compile_pattern(source) if source is not None else None
    counts: Counter[str] = Counter()
    for seg in iter_segments(corpus, source, tuple(special_tokens), block_chars):
        if compiled is None:
            counts[seg] += 1
        else:
            counts.update(find_chunks(compiled, seg))
        if poll is not None:
            poll()
    if not counts:
        raise ValueError(EMPTY_CORPUS)
    return counts
