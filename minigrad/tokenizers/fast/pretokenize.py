"""The compiled pre-tokenizer: the built-in split patterns without the ``regex`` module.

``regex.findall`` is slower than the whole of a fast BPE encoder (``benchmarks/
bench_pretokenize.py`` times both), so this module cuts text into exactly the chunks that
:func:`minigrad.tokenizers.pretokenize.split_reference` gives for the built-in patterns (GPT-2,
GPT-4 / cl100k, o200k: every name of ``patterns.PATTERN_NAMES``), with a hand-written numba
state machine per pattern (:mod:`minigrad.tokenizers.fast.scanners`) and a per-code-point class
table built from the pinned Unicode data (:mod:`minigrad.tokenizers.fast.unicode_table`, cached
on disk).

Example::

    >>> split_fast("Hello world!!", "gpt4")
    ['Hello', ' world', '!!']
    >>> chunk_bounds("Hello world!!", "gpt4").tolist()
    [0, 5, 11, 13]

Design, and why:

* **Bounds are the primary output.**  A chunk is ``text[b[j]:b[j + 1]]``; ``chunk_bounds``
  returns the ``k + 1`` offsets (int64, code points, ``b[0] == 0``, ``b[-1] == len(text)``), so a
  BPE encoder can work on the bytes without building one Python string per chunk.
  :func:`utf8_chunk_bounds` gives the same cuts as byte offsets into the UTF-8 encoding, which
  is what the scanner produces natively.
* **The scanner reads UTF-8**, the bytes that BPE merges anyway (for ASCII text, most text,
  encoding them is a plain copy), decoding code points as it goes; code-point offsets are
  derived afterwards by counting lead bytes (skipped for ASCII text).
* **Lone surrogates** (Python strs may hold them; ``"\\ud800".encode("utf-8")`` raises) are
  replaced before scanning, by the policy of every tokenizer path (tiktoken's:
  ``pretokenize.replace_surrogates``), so the chunks are those of the fixed text.  (The class
  table still classifies D800-DFFF as ``regex`` does, for bytes encoded with
  ``"surrogatepass"``, but no such bytes reach the kernels from here.)
* **Unicode version**: tiktoken's (16.0.0).  The class table and the reference path's classes
  both come from :mod:`minigrad.tokenizers.unicode_pinned`, so the two splitters agree with
  each other and with tiktoken, whatever Unicode the installed ``regex`` or
  :mod:`unicodedata` knows.
* **Bounded scratch**: the scanners can resume at any chunk end (``findall`` keeps no state
  between matches), so a long text is scanned in blocks of at most ``SCAN_BLOCK`` offsets.
* **Strings only on request**: :func:`split_fast` joins the chunks with a control character the
  text lacks and lets one ``str.split`` call make all the strings in C.
* **Threads**: the kernels release the GIL (``nogil=True``); the class table is read-only.

What it leaves out: custom patterns (``patterns.builtin_name`` says which sources are built in;
everything else goes to ``regex``), and any change of behaviour: it is a faster equal.
"""

from __future__ import annotations

import numpy as np

from minigrad.tokenizers.fast.scanners import SCANNERS, byte_to_char_offsets, join_chunks
from minigrad.tokenizers.fast.unicode_table import class_table
from minigrad.tokenizers.patterns import canonical_name
from minigrad.tokenizers.pretokenize import replace_surrogates


def _scanner(pattern_name: str):
    if not isinstance(pattern_name, str):
        raise TypeError(f"pattern_name must be a str, got {type(pattern_name).__name__}")
    try:
        return SCANNERS[canonical_name(pattern_name)]
    except ValueError as exc:
        raise ValueError(f"no compiled scanner for pattern {pattern_name!r}: {exc}") from None


def encode_text(text: str) -> bytes:
    """UTF-8 bytes of ``text`` after the lone-surrogate policy (``replace_surrogates``).

    >>> encode_text("a\\ud800")
    b'a\\xef\\xbf\\xbd'
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return replace_surrogates(text).encode("utf-8")


#: Offsets per output block: scanning a large text needs at most this much scratch (8 bytes
#: each) beyond the result itself.
SCAN_BLOCK = 1 << 20


def _scan_bytes(data: bytes, pattern_name: str) -> np.ndarray:
    """Chunk ends of UTF-8 ``data`` (``k + 1`` byte offsets), scanned block by block."""
    scan = _scanner(pattern_name)
    table = class_table()
    buf = np.frombuffer(data, dtype=np.uint8)
    n = buf.shape[0]
    out = np.empty(min(n + 1, max(SCAN_BLOCK, 2)), dtype=np.int64)  # 2: room to progress
    count, stop = scan(buf, table, out, 0)
    pieces = [out[:count].copy()]
    while stop < n:  # out was full: resume at the last chunk end, which out[0] repeats
        count, stop = scan(buf, table, out, stop)
        pieces.append(out[1:count].copy())
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


def utf8_chunk_bounds(text: str, pattern_name: str) -> tuple[bytes, np.ndarray]:
    """``(data, bounds)``: the UTF-8 bytes of ``text`` and the chunk bounds as byte offsets.

    Chunk ``j`` is ``data[bounds[j]:bounds[j + 1]]``.  ``data`` is ``encode_text(text)``, i.e.
    ``text.encode("utf-8")`` unless the text holds surrogates (then see ``replace_surrogates``).

    >>> utf8_chunk_bounds("né ok", "gpt4")[1].tolist()
    [0, 3, 6]
    """
    data = encode_text(text)
    return data, _scan_bytes(data, pattern_name)


def chunk_bounds(text: str, pattern_name: str) -> np.ndarray:
    """The chunk bounds of ``text`` as code-point offsets: ``k + 1`` int64s for ``k`` chunks.

    Chunk ``j`` is ``text[bounds[j]:bounds[j + 1]]``; an empty text gives ``[0]``.  (With
    surrogates in ``text`` the offsets are into ``replace_surrogates(text)``, which differs in
    length only where a surrogate pair became one character.)

    >>> chunk_bounds("né ok", "gpt4").tolist()
    [0, 2, 5]
    """
    data = encode_text(text)
    bounds = _scan_bytes(data, pattern_name)
    if len(data) == len(text):  # ASCII: byte offsets are code-point offsets (no surrogates)
        return bounds
    return byte_to_char_offsets(np.frombuffer(data, dtype=np.uint8), bounds)


#: Separators tried by ``split_fast``, one UTF-8 byte each; the first absent from the text wins.
_SEPARATORS = tuple(chr(c) for c in range(9))


def split_fast(text: str, pattern_name: str) -> list[str]:
    """The chunks of ``text`` under a built-in pattern, equal to the ``regex`` reference.

    >>> split_fast("I'm  here\\n", "gpt2")
    ['I', "'m", ' ', ' here', '\\n']

    How the strings are made: slicing ``text`` once per chunk in a Python loop costs more than
    the whole scan, so the chunks are instead joined by a control character the text does not
    contain (``"\\x00"`` almost always), decoded once, and cut by ``str.split`` in C.  A text
    holding all of ``"\\x00"``-``"\\x08"`` falls back to slicing.
    """
    data, bounds = utf8_chunk_bounds(text, pattern_name)
    if len(bounds) <= 1:
        return []
    for sep in _SEPARATORS:
        if sep not in text:
            joined = join_chunks(np.frombuffer(data, dtype=np.uint8), bounds, ord(sep))
            return joined.tobytes().decode("utf-8").split(sep)
    text = replace_surrogates(text)
    b = chunk_bounds(text, pattern_name).tolist()
    return [text[b[j] : b[j + 1]] for j in range(len(b) - 1)]
