"""Pre-tokenization: cut text into chunks before byte-pair merging.

A byte-level BPE never merges across chunk boundaries, so the split pattern decides what a token
can be: with the GPT-4 pattern, " the" can become one token but "the." cannot.  This module holds
the built-in split patterns (the published GPT-2, GPT-4 / cl100k and o200k regular expressions)
and the reference splitter built on the third-party ``regex`` module, which understands Unicode
properties such as ``\\p{L}`` (any letter) and possessive quantifiers such as ``++``.

Two splitters with one answer: :func:`split_reference` always runs ``regex.findall`` (the
oracle, and the path for custom patterns); :func:`split` hands the built-in patterns to the
compiled scanner of :mod:`minigrad.tokenizers.fast_pretokenize` (three to four times faster for
a list of strings, about ten times for bare chunk offsets), which property tests hold equal to
the reference on arbitrary Unicode, and everything else to ``regex``.  numba is only imported
when a built-in pattern is first split.

Example::

    >>> split("Hello world!!", "gpt4")
    ['Hello', ' world', '!!']
"""

from __future__ import annotations

from functools import lru_cache

import regex

#: GPT-2's split (tiktoken's r50k_base / p50k_base): contractions, optional-space + letters,
#: optional-space + digits, optional-space + punctuation, then whitespace rules.
GPT2_PATTERN = (
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
)

#: GPT-4's split (tiktoken's cl100k_base): case-insensitive contractions, numbers in groups of
#: at most three digits, punctuation runs that swallow trailing newlines.
GPT4_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)

#: o200k_base's split: words are cut at case changes and keep combining marks (\p{M}) with their
#: letters, so scripts such as Devanagari are not cut inside a word.
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)

#: Built-in patterns by name.  "cl100k" is an alias of "gpt4".
PATTERNS: dict[str, str] = {
    "gpt2": GPT2_PATTERN,
    "gpt4": GPT4_PATTERN,
    "cl100k": GPT4_PATTERN,
    "o200k": O200K_PATTERN,
}


def resolve_pattern(pattern: str | None) -> str | None:
    """Turn a pattern name ("gpt2", "gpt4", "cl100k", "o200k") into its regex source.

    Any other string is taken as a custom regular expression and returned unchanged (after
    checking that it compiles); ``None`` means "do not split": the whole text is one chunk.
    """
    if pattern is None:
        return None
    if not isinstance(pattern, str):
        raise TypeError(f"pattern must be a str or None, got {type(pattern).__name__}")
    if pattern in PATTERNS:
        return PATTERNS[pattern]
    compile_pattern(pattern)  # raises ValueError on a malformed custom pattern
    return pattern


@lru_cache(maxsize=32)
def compile_pattern(pattern: str) -> regex.Pattern:
    """Compile a split pattern once (cached); a malformed pattern raises ``ValueError``."""
    try:
        return regex.compile(pattern)
    except regex.error as exc:
        raise ValueError(f"invalid split pattern {pattern!r}: {exc}") from exc


def split_reference(text: str, pattern: str | None) -> list[str]:
    """Cut ``text`` with ``regex.findall`` alone: the oracle the compiled scanner is tested against.

    >>> split_reference("I'm here", "gpt2")
    ['I', "'m", ' here']
    """
    source = resolve_pattern(pattern)
    if source is None:
        return [text] if text else []
    return compile_pattern(source).findall(text)


def split(text: str, pattern: str | None) -> list[str]:
    """Cut ``text`` into chunks with ``pattern`` (a built-in name, a regex, or None).

    The chunks concatenate back to ``text`` for the built-in patterns (they match every
    character); with ``None`` the text is a single chunk (an empty text gives no chunks).
    Built-in patterns (by name or by their exact source) run on the compiled scanner, others
    on ``regex``; the result is the same as :func:`split_reference` either way.
    """
    source = resolve_pattern(pattern)
    if source is None:
        return [text] if text else []
    from minigrad.tokenizers import fast_pretokenize  # lazy: keeps numba out of the import

    if fast_pretokenize.supports(source):
        return fast_pretokenize.split_fast(text, fast_pretokenize.pattern_name_of(source))
    return compile_pattern(source).findall(text)
