"""Split patterns by name: the one registry that the API, the trainers and the CLI all read.

A byte-level BPE never merges across chunk boundaries, so the split pattern decides what a token
can be.  minigrad knows three published patterns (those of tiktoken's encodings) and accepts
each under several names:

================  ====================================================================
pattern           accepted names
================  ====================================================================
``gpt2``          ``gpt2``, ``r50k_base``, ``p50k_base``, ``p50k_edit``, ``gpt-2``
``gpt4``          ``gpt4``, ``cl100k``, ``cl100k_base``, ``gpt-4``, ``gpt-3.5-turbo``
``o200k``         ``o200k``, ``o200k_base``, ``o200k_harmony``, ``gpt-4o``
================  ====================================================================

The tiktoken *encoding* names are all here; of the *model* names only the four above are (model
names come and go; use the encoding name).  Names are case-sensitive.

Anything that is not a name is taken as a custom regular expression, and must then look like
one: it has to compile, and it has to find a non-empty match in a sample of ordinary text
(:data:`ORDINARY_TEXT`).  So a typo such as ``"gtp4"``, or a name minigrad does not know such as
``"gpt-5"``, raises ``ValueError`` listing the names above instead of being compiled as a
literal regex that matches nothing and silently encodes every text to ``[]``.

    >>> resolve_pattern("cl100k_base") == GPT4_PATTERN
    True
    >>> builtin_name(resolve_pattern("gpt-4o"))
    'o200k'

What it leaves out: splitting (``pretokenize``) and the compiled scanners (``fast.pretokenize``).
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

#: The built-in patterns under their canonical names (the names of the compiled scanners).
BUILTIN_SOURCES: dict[str, str] = {
    "gpt2": GPT2_PATTERN,
    "gpt4": GPT4_PATTERN,
    "o200k": O200K_PATTERN,
}

#: Every accepted name -> the canonical name of its pattern (see the table above).
PATTERN_NAMES: dict[str, str] = {
    "gpt2": "gpt2",
    "r50k_base": "gpt2",
    "p50k_base": "gpt2",
    "p50k_edit": "gpt2",
    "gpt-2": "gpt2",
    "gpt4": "gpt4",
    "cl100k": "gpt4",
    "cl100k_base": "gpt4",
    "gpt-4": "gpt4",
    "gpt-3.5-turbo": "gpt4",
    "o200k": "o200k",
    "o200k_base": "o200k",
    "o200k_harmony": "o200k",
    "gpt-4o": "o200k",
}

#: Every accepted name -> its regex source.
PATTERNS: dict[str, str] = {name: BUILTIN_SOURCES[c] for name, c in PATTERN_NAMES.items()}

_CANONICAL_OF_SOURCE = {source: name for name, source in BUILTIN_SOURCES.items()}

#: What a custom pattern must find something in: letters, digits, punctuation and whitespace of
#: a few scripts.  A regex that matches none of it is almost surely a mistyped name.
ORDINARY_TEXT = (
    "Hello, World! It's 2024: naïve café costs €3.50 (or $4) -- ok?\n"
    '\tΚαλημέρα, Привет, שלום, مرحبا, नमस्ते, 你好世界, こんにちは, 안녕 🙂 <x y="1"/> #_@%&*\r\n'
)


def describe_names() -> str:
    """The accepted names, grouped by pattern, for messages and ``--help``.

    >>> describe_names().split("; ")[0]
    'gpt2 (= r50k_base, p50k_base, p50k_edit, gpt-2)'
    """
    groups = []
    for canonical in BUILTIN_SOURCES:
        aliases = [n for n, c in PATTERN_NAMES.items() if c == canonical and n != canonical]
        groups.append(f"{canonical} (= {', '.join(aliases)})")
    return "; ".join(groups)


def builtin_name(source: str | None) -> str | None:
    """The canonical name of a built-in pattern's regex source, or None for any other value."""
    if not isinstance(source, str):
        return None
    return _CANONICAL_OF_SOURCE.get(source)


def canonical_name(name: str) -> str:
    """The canonical name behind an accepted pattern name: ``canonical_name("cl100k_base")`` is
    ``"gpt4"``.  Raises ``ValueError`` (listing the names) for anything else."""
    if not isinstance(name, str):
        raise TypeError(f"pattern name must be a str, got {type(name).__name__}")
    try:
        return PATTERN_NAMES[name]
    except KeyError:
        raise ValueError(
            f"unknown pattern name {name!r}; known names: {describe_names()}"
        ) from None


@lru_cache(maxsize=32)
def compile_pattern(pattern: str) -> regex.Pattern:
    """Compile a split pattern once (cached); a malformed pattern raises ``ValueError``.

    A built-in pattern is compiled with its Unicode classes pinned to tiktoken's Unicode
    version (``unicode_pinned.pinned_source``), so the compiled object's ``.pattern`` is the
    pinned spelling; any other pattern is compiled as written.
    """
    source = pattern
    if builtin_name(pattern) is not None:
        from minigrad.tokenizers.unicode_pinned import pinned_source

        source = pinned_source(pattern)
    try:
        return regex.compile(source)
    except regex.error as exc:
        raise ValueError(f"invalid split pattern {pattern!r}: {exc}") from exc


def find_chunks(compiled: regex.Pattern, text: str) -> list[str]:
    """The whole matches of ``compiled`` in ``text``, left to right: what tiktoken splits into.

    ``findall`` would return the *groups* of a pattern with capturing groups (``(\\w+)|\\s+``
    gives ``''`` for every space), losing text; tiktoken always takes the whole match, so that
    is what a chunk is here.  ``findall`` is used when there are no groups (it is faster).
    Empty matches give empty chunks, which encode to no ids (tiktoken panics on them).

    >>> find_chunks(regex.compile(r"(\\w+)|\\s+"), "hi you")
    ['hi', ' ', 'you']
    """
    if compiled.groups == 0:
        return compiled.findall(text)
    return [m.group() for m in compiled.finditer(text)]


@lru_cache(maxsize=32)
def _check_custom(pattern: str) -> None:
    compiled = compile_pattern(pattern)
    if not any(find_chunks(compiled, ORDINARY_TEXT)):
        raise ValueError(
            f"unknown split pattern {pattern!r}: it is not a pattern name, and as a regular "
            f"expression it matches no ordinary text. Known names: {describe_names()}; or pass "
            "a regex that matches the text (e.g. r'\\w+|\\s+|[^\\w\\s]+'), or None for no split"
        )


def resolve_pattern(pattern: str | None) -> str | None:
    """Turn a pattern name into its regex source; check and return a custom regex unchanged.

    ``None`` means "do not split": the whole text is one chunk.  A string that is not a known
    name must compile and must match some ordinary text (module docstring), else ``ValueError``.
    """
    if pattern is None:
        return None
    if not isinstance(pattern, str):
        raise TypeError(f"pattern must be a str or None, got {type(pattern).__name__}")
    source = PATTERNS.get(pattern)
    if source is not None:
        return source
    _check_custom(pattern)
    return pattern
