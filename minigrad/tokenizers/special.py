"""Special tokens: tiktoken's policy for text that looks like ``<|endoftext|>``.

A special token is a string with an id of its own that merging never produces.  Because such a
string can appear in untrusted text (a web page that contains ``<|endoftext|>``), encoding it as
the special id must be a deliberate choice:

* ``allowed_special``: the special tokens that become their own id in this call (``"all"``
  for every one; names that are not special tokens are ignored, as tiktoken does);
* ``disallowed_special``: strings whose presence raises ``ValueError``; the default ``"all"``
  means every special token that is not allowed.  ``()`` turns the check off, and the text is
  then encoded as ordinary bytes.

>>> allowed_specials({"<s>": 256}, "a<s>", "all", "all")
frozenset({'<s>'})
>>> allowed_specials({"<s>": 256}, "a<s>", frozenset(), ())
frozenset()

What it leaves out: the encoding itself (``bpe.BPETokenizer.encode`` cuts the text at the
allowed special tokens and encodes the pieces between them).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache
from typing import Literal


@lru_cache(maxsize=64)
def special_regex(names: frozenset[str]) -> re.Pattern[str]:
    """A regex matching any of ``names``, longest first (so "<|a|>b" wins over "<|a|>")."""
    alternatives = sorted(names, key=lambda s: (-len(s), s))
    return re.compile("|".join(re.escape(s) for s in alternatives))


def allowed_specials(
    special_tokens: dict[str, int],
    text: str,
    allowed_special: Literal["all"] | Collection[str],
    disallowed_special: Literal["all"] | Collection[str],
) -> frozenset[str]:
    """The special tokens to honour in ``text``; a disallowed one in the text raises ValueError."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    for arg, value in (
        ("allowed_special", allowed_special),
        ("disallowed_special", disallowed_special),
    ):
        if isinstance(value, str) and value != "all":
            raise TypeError(f'{arg} must be "all" or a collection of str, got the str {value!r}')
    every = frozenset(special_tokens)
    allowed = every if allowed_special == "all" else frozenset(allowed_special) & every
    if disallowed_special == "all":
        disallowed = every - allowed
    else:
        disallowed = frozenset(disallowed_special)
    if disallowed:
        match = special_regex(disallowed).search(text)
        if match:
            raise ValueError(
                f"the text contains the special token {match.group()!r} at offset "
                f"{match.start()}, which is disallowed. Pass it in allowed_special to encode "
                "it as a special token, or disallowed_special=() to encode it as text."
            )
    return allowed
