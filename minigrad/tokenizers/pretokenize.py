"""Pre-tokenization: cut text into chunks before byte-pair merging.

A byte-level BPE never merges across chunk boundaries, so the split pattern decides what a token
can be: with the GPT-4 pattern, " the" can become one token but "the." cannot.  This module holds
the reference splitter built on the third-party ``regex`` module, which understands Unicode
properties such as ``\\p{L}`` (any letter) and possessive quantifiers such as ``++``, and the
lone-surrogate policy every path applies first (:func:`replace_surrogates`).  The patterns and
their names live in :mod:`minigrad.tokenizers.patterns`.

A chunk is always a *whole match* of the pattern, as in tiktoken, even when the pattern has
capturing groups (``regex.findall`` would return the groups instead: see ``find_chunks``).
The built-in patterns' Unicode classes (``\\p{L}``...) are pinned to tiktoken's Unicode version
(16.0.0, :mod:`minigrad.tokenizers.unicode_pinned`) when they are compiled, on this path as in
the compiled scanner; a custom pattern uses the ``regex`` module's own Unicode tables.

Two splitters with one answer: :func:`split_reference` always runs the ``regex`` module (the
oracle, and the path for custom patterns); :func:`split` hands the built-in patterns to the
compiled scanner of :mod:`minigrad.tokenizers.fast.pretokenize` (faster: see
``benchmarks/bench_pretokenize.py``), which property tests hold equal to the reference on
arbitrary Unicode, and everything else to ``regex``.  numba is only imported when a built-in
pattern is first split.

Example::

    >>> split("Hello world!!", "gpt4")
    ['Hello', ' world', '!!']
"""

from __future__ import annotations

import re

from minigrad.tokenizers.patterns import builtin_name, compile_pattern, find_chunks, resolve_pattern

_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_surrogates(text: str) -> str:
    """The lone-surrogate policy of every tokenizer path (tiktoken's): fix them before anything.

    A Python ``str`` may hold surrogate code points (U+D800-DFFF), e.g. from
    ``errors="surrogateescape"`` or a JSON ``"\\ud83d"``, but UTF-8 cannot encode them.  As in
    tiktoken, the text goes through UTF-16: a high surrogate followed by a low one becomes the
    character the pair encodes, and every other surrogate becomes U+FFFD (the replacement
    character).  Encoding, splitting, chunk bounds and training all apply this first, so a
    surrogate never makes one path fail, another pass it through, and a third reject it.

    >>> replace_surrogates("a\\ud800b \\ud83d\\ude00")
    'a\\ufffdb 😀'
    """
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def split_reference(text: str, pattern: str | None) -> list[str]:
    """Cut ``text`` with the ``regex`` module alone: the oracle the compiled scanner is tested
    against.

    >>> split_reference("I'm here", "gpt2")
    ['I', "'m", ' here']
    """
    source = resolve_pattern(pattern)
    text = replace_surrogates(text)
    if source is None:
        return [text] if text else []
    return find_chunks(compile_pattern(source), text)


def split(text: str, pattern: str | None) -> list[str]:
    """Cut ``text`` into chunks with ``pattern`` (a built-in name, a regex, or None).

    The chunks concatenate back to ``text`` for the built-in patterns (they match every
    character); with ``None`` the text is a single chunk (an empty text gives no chunks).
    Built-in patterns (by name or by their exact source) run on the compiled scanner, others
    on ``regex``; the result is the same as :func:`split_reference` either way.
    """
    source = resolve_pattern(pattern)
    name = builtin_name(source)
    if name is None:
        return split_reference(text, source)
    from minigrad.tokenizers.fast.pretokenize import split_fast  # lazy: numba loads on first use

    return split_fast(text, name)
