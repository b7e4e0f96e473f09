"""Streaming decoding: text out as soon as it is complete, while a model generates ids.

Why this is needed: a byte-level token may end in the middle of a character.  "é" is the two
bytes ``C3 A9``; if one token is ``b"\\xc3"`` and the next ``b"\\xa9"``, decoding each token on
its own gives two replacement characters ``"\\ufffd\\ufffd"`` instead of ``"é"``.  A streaming
decoder keeps the incomplete tail (``C3``) back until the next token completes it.

The rule, and how it stays identical to ``decode`` of the whole list:

* bytes that form complete characters are returned at once;
* a tail that *could still become* a valid character (a lead byte followed by fewer
  continuation bytes than it announces) is held back;
* bytes that can never be valid (``FF``, a stray continuation byte, a lead byte followed by
  something else) are replaced with U+FFFD right away, exactly as ``bytes.decode(..., "replace")``
  replaces them;
* ``flush()`` at the end replaces a tail that was never completed.

Python's incremental UTF-8 decoder (``codecs.getincrementaldecoder``) implements precisely this
rule, and its pieces concatenate to the one-shot decode, so we build on it rather than re-derive
the UTF-8 state machine.  A Hypothesis property in ``tests/tokenizers/test_streaming.py`` checks
that feeding any id sequence in any split gives ``tokenizer.decode(ids)``.

Example::

    >>> dec = StreamingDecoder(tok)          # tok: any BPETokenizer
    >>> dec.feed(tok.encode("caf")) + dec.feed([0xC3]) + dec.feed([0xA9]) + dec.flush()
    'café'

(``0xC3`` and ``0xA9`` are the ids of single bytes only in a tokenizer whose byte ranks equal
the byte values, as in the trained ones.)

The module also says what a token id is, for every decoding path (``id_list``): a Python int or
a numpy integer (integer arrays welcome), never a float or a bool.  The check matters because
the decoder is a dict, where ``65.0`` finds the entry of ``65`` and ``True`` that of ``1``
(equal numbers hash alike): a lookup alone would accept them.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from minigrad.tokenizers.bpe import BPETokenizer


# ---- what a token id is -------------------------------------------------------------------
def _is_id_type(kind: type) -> bool:
    """Python ints and numpy integers are token ids; bools (an int subclass) are not."""
    return issubclass(kind, (int, np.integer)) and not issubclass(kind, (bool, np.bool_))


def check_id_types(ids: list) -> None:
    """Raise ``TypeError`` naming the first id that is not an integer."""
    kinds = set(map(type, ids))  # one C-speed pass; the loop below runs only on a bad list
    if kinds <= {int} or all(_is_id_type(k) for k in kinds):
        return
    bad = next(t for t in ids if not _is_id_type(type(t)))
    raise TypeError(f"token ids must be ints, got {bad!r} ({type(bad).__name__})")


def id_list(tokens: Iterable[int]) -> list:
    """``tokens`` as a list of integer ids (type-checked); integer arrays go through tolist()."""
    if isinstance(tokens, np.ndarray):
        if tokens.ndim != 1 or tokens.dtype.kind not in "iu":
            raise TypeError(
                "token ids must be a 1-D array of integers, got a "
                f"{tokens.ndim}-D array of {tokens.dtype}"
            )
        return tokens.tolist()
    if isinstance(tokens, (str, bytes)) or not hasattr(tokens, "__iter__"):
        raise TypeError(f"expected an iterable of token ids, got {type(tokens).__name__}")
    ids = tokens if isinstance(tokens, list) else list(tokens)
    check_id_types(ids)
    return ids


class StreamingDecoder:
    """Turn a stream of token ids into text, holding back incomplete UTF-8.

    ``feed(ids)`` accepts one id or an iterable of ids and returns the text that became
    complete; ``flush()`` returns what is left (with an incomplete tail replaced by U+FFFD
    under ``errors="replace"``) and resets the decoder for the next stream.
    """

    def __init__(self, tokenizer: BPETokenizer, errors: str = "replace") -> None:
        codecs.lookup_error(errors)  # an unknown error handler raises LookupError here, not later
        self.tokenizer = tokenizer
        self.errors = errors
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors=errors)

    @property
    def pending(self) -> bytes:
        """The bytes held back because they may be the start of a character."""
        return self._decoder.getstate()[0]

    def feed(self, ids: int | Iterable[int]) -> str:
        """Add one id or several; return the text completed by them (possibly ``""``)."""
        if isinstance(ids, (int, np.integer)):
            data = self.tokenizer.decode_single_token_bytes(ids)
        else:
            data = self.tokenizer.decode_bytes(ids)
        return self._decoder.decode(data, final=False)

    def flush(self) -> str:
        """End of stream: return the held-back tail (replaced if incomplete), then reset."""
        text = self._decoder.decode(b"", final=True)
        self._decoder.reset()
        return text

    def reset(self) -> None:
        """Drop anything held back and start a new stream."""
        self._decoder.reset()
