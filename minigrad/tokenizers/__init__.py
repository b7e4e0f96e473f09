"""Tokenizers: text -> token ids -> text.

* :class:`BPETokenizer`: byte-level BPE with tiktoken's encoding rule, special tokens, files;
* :func:`count_chunks` and :class:`ChunkCounts`: the counting half of training, mergeable and
  saveable, for ``BPETokenizer.train_from_counts`` (and ``tokenizers.dask`` on a cluster);
* :class:`StreamingDecoder`: text out as ids come in, holding back incomplete UTF-8;
* :class:`WordTokenizer`: the seed's toy whitespace tokenizer (``save``/``load`` of its own);
* pattern helpers: the split patterns by name (``PATTERN_NAMES``, ``PATTERNS``: one registry,
  see ``patterns.py``), ``split``, and the surrogate policy (``replace_surrogates``).

Example::

    >>> from minigrad.tokenizers import BPETokenizer
    >>> tok = BPETokenizer({bytes([i]): i for i in range(256)} | {b"hi": 256})
    >>> tok.encode("hi there")
    [256, 32, 116, 104, 101, 114, 101]
"""

from minigrad.tokenizers.bpe import BPETokenizer, UnknownTokenError, byte_pair_encode
from minigrad.tokenizers.counts import ChunkCounts, count_chunks
from minigrad.tokenizers.decoding import StreamingDecoder
from minigrad.tokenizers.patterns import (
    GPT2_PATTERN,
    GPT4_PATTERN,
    O200K_PATTERN,
    PATTERN_NAMES,
    PATTERNS,
    compile_pattern,
    resolve_pattern,
)
from minigrad.tokenizers.pretokenize import replace_surrogates, split, split_reference
from minigrad.tokenizers.word import UnknownWordError, WordFileError, WordTokenizer

__all__ = [
    "GPT2_PATTERN",
    "GPT4_PATTERN",
    "O200K_PATTERN",
    "PATTERNS",
    "PATTERN_NAMES",
    "BPETokenizer",
    "ChunkCounts",
    "StreamingDecoder",
    "UnknownTokenError",
    "UnknownWordError",
    "WordFileError",
    "WordTokenizer",
    "byte_pair_encode",
    "compile_pattern",
    "count_chunks",
    "replace_surrogates",
    "resolve_pattern",
    "split",
    "split_reference",
]
