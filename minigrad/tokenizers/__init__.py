"""Tokenizers: text -> token ids -> text.

* :class:`BPETokenizer`: byte-level BPE with tiktoken's encoding rule, special tokens, files;
* :class:`StreamingDecoder`: text out as ids come in, holding back incomplete UTF-8;
* :class:`WordTokenizer`: the seed's toy whitespace tokenizer (``save``/``load`` of its own);
* pattern helpers: the built-in split patterns (``PATTERNS``) and ``split``.

Example::

    >>> from minigrad.tokenizers import BPETokenizer
    >>> tok = BPETokenizer({bytes([i]): i for i in range(256)} | {b"hi": 256})
    >>> tok.encode("hi there")
    [256, 32, 116, 104, 101, 114, 101]
"""

from minigrad.tokenizers.bpe import BPETokenizer, UnknownTokenError, byte_pair_encode
from minigrad.tokenizers.decoding import StreamingDecoder
from minigrad.tokenizers.pretokenize import (
    GPT2_PATTERN,
    GPT4_PATTERN,
    O200K_PATTERN,
    PATTERNS,
    compile_pattern,
    resolve_pattern,
    split,
    split_reference,
)
from minigrad.tokenizers.word import UnknownWordError, WordFileError, WordTokenizer

__all__ = [
    "GPT2_PATTERN",
    "GPT4_PATTERN",
    "O200K_PATTERN",
    "PATTERNS",
    "BPETokenizer",
    "StreamingDecoder",
    "UnknownTokenError",
    "UnknownWordError",
    "WordFileError",
    "WordTokenizer",
    "byte_pair_encode",
    "compile_pattern",
    "resolve_pattern",
    "split",
    "split_reference",
]
