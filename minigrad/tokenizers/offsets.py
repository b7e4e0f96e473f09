"""Where each token starts in the decoded text: the offsets of ``decode_with_offsets``.

A token is a run of bytes, and with byte-level BPE a token may start in the middle of a
character (``"é"`` is ``c3 a9``; a vocabulary may hold ``c3`` and ``a9`` as two tokens).  The
offset of a token is measured in characters (code points) of the decoded text, exactly as
tiktoken's ``Encoding.decode_with_offsets`` computes it:

* count the characters that the tokens *before* it start, i.e. their bytes that are not UTF-8
  continuation bytes (``0x80``-``0xBF``);
* if the token itself starts with a continuation byte, it starts inside the character that the
  previous tokens began, so step back by one (never below 0).

    >>> char_offsets([b"h", b"\\xc3", b"\\xa9!", b"\\xe4\\xbd\\xa0"])  # "hé!你", é cut in two
    [0, 1, 1, 3]

What it leaves out: decoding itself (the caller decodes, strictly, as tiktoken does).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def char_offsets(token_bytes: Sequence[bytes]) -> list[int]:
    """The character offset of each token (see the module docstring); tokens are non-empty."""
    if not token_bytes:
        return []
    lengths = np.fromiter(map(len, token_bytes), dtype=np.int64, count=len(token_bytes))
    data = np.frombuffer(b"".join(token_bytes), dtype=np.uint8)
    begins_char = (data & 0xC0) != 0x80
    chars_before = np.concatenate(([0], np.cumsum(begins_char)))  # characters in data[:i]
    first = np.concatenate(([0], np.cumsum(lengths)[:-1]))  # each token's first byte
    inside = ~begins_char[first]  # the token starts inside a character
    return np.maximum(0, chars_before[first] - inside).tolist()
