"""Compiled scanners that cut UTF-8 text exactly as the built-in split patterns do.

Each ``scan_*`` kernel walks the UTF-8 bytes of a text once, decodes one code point at a time,
looks its classes up in the table of :mod:`minigrad.tokenizers.fast.unicode_table`, and writes
the byte offset where every chunk ends.  The reference each kernel must agree with is the
``regex`` pattern of the same name in :mod:`minigrad.tokenizers.patterns`; the tests check them
against each other on arbitrary Unicode, and the kernels also run as plain Python under
``NUMBA_DISABLE_JIT=1``.

How a regex becomes a loop.  ``regex.findall`` starts at offset 0, tries the alternatives in
order, takes the first one that matches (ordered alternation: the first that matches, not the
longest), and restarts where that match ended.  So each kernel is ``while i < n: end = ...``
where ``end`` is computed by trying the alternatives in the pattern's order.  Quantifiers:

* possessive (``++``, ``?+``) and greedy-then-nothing-can-fail mean "take the maximal run";
* greedy followed by something that can fail (``\\s*[\\r\\n]``, ``\\s+(?!\\S)``, o200k's
  ``[...]*[...]+``) means "take the maximal run, then give back one character at a time until
  the rest matches": each such case is worked out in a comment where it is coded.

The three kernels share their loop and their whitespace and punctuation steps, written out in
each on purpose: moving a kernel's per-chunk step into a function of its own, even one numba
inlines, made the GPT-2 and o200k scans measurably slower (``benchmarks/bench_pretokenize.py``).

Invariants the kernels rely on: ``buf`` is valid UTF-8 (``str.encode("utf-8")``, or
``"surrogatepass"`` for lone surrogates, which then decode to code points D800-DFFF); ASCII
bytes (space 32, apostrophe 39, slash 47, ``\\r`` 13, ``\\n`` 10) never occur inside a
multi-byte character, so they can be tested on the raw byte.

Calling convention: ``scan_*(buf, table, out, start) -> (count, stop)`` scans from byte
``start`` (which must be a chunk boundary) and writes ``out[0] = start`` and then the end of each
chunk, until the text or ``out`` is exhausted; it returns how many offsets it wrote and where it
stopped.  Because ``findall`` remembers nothing from one match to the next but its position,
calling again from ``stop`` continues exactly where a single long call would have gone: this
lets the caller scan a large text with a bounded output buffer.  :data:`SCANNERS` names them.

What it leaves out: custom patterns (those stay on ``regex``) and parallelism (a chunk boundary
depends on what precedes it, so the text cannot be cut blindly for threads; ``nogil=True``
lets callers run several texts in threads).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from minigrad.tokenizers.fast.unicode_table import (
    CODE_D,
    CODE_E,
    CODE_L,
    CODE_M,
    CODE_R,
    CODE_S,
    CODE_T,
    CODE_V,
    FLAG_CRLF,
    FLAG_L,
    FLAG_LOWER,
    FLAG_N,
    FLAG_PREFIX,
    FLAG_PUNCT,
    FLAG_S,
    FLAG_UPPER,
    LETTER_SHIFT,
)

SPACE, APOSTROPHE, SLASH, CR, LF = 32, 39, 47, 13, 10


@njit(cache=True, nogil=True, inline="always")
def _flags_len(buf, table, i):
    """Classes and UTF-8 length of the character starting at byte ``i``."""
    b0 = np.int64(buf[i])
    if b0 < 0x80:
        return np.int64(table[b0]), 1
    if b0 < 0xE0:
        cp = ((b0 & 0x1F) << 6) | (np.int64(buf[i + 1]) & 0x3F)
        return np.int64(table[cp]), 2
    if b0 < 0xF0:
        cp = ((b0 & 0x0F) << 12) | ((np.int64(buf[i + 1]) & 0x3F) << 6)
        cp |= np.int64(buf[i + 2]) & 0x3F
        return np.int64(table[cp]), 3
    cp = ((b0 & 0x07) << 18) | ((np.int64(buf[i + 1]) & 0x3F) << 12)
    cp |= ((np.int64(buf[i + 2]) & 0x3F) << 6) | (np.int64(buf[i + 3]) & 0x3F)
    return np.int64(table[cp]), 4


@njit(cache=True, nogil=True, inline="always")
def _run(buf, table, i, n, mask):
    """End of the maximal run of characters from ``i`` whose classes intersect ``mask``."""
    while i < n:
        f, w = _flags_len(buf, table, i)
        if not (f & mask):
            break
        i += w
    return i


@njit(cache=True, nogil=True, inline="always")
def _numbers_upto3(buf, table, i, n):
    r"""End of ``\p{N}{1,3}`` from ``i`` (the caller checked that one number is there)."""
    for _ in range(3):
        if i >= n:
            break
        f, w = _flags_len(buf, table, i)
        if not (f & FLAG_N):
            break
        i += w
    return i


@njit(cache=True, nogil=True, inline="always")
def _whitespace(buf, table, i, n):
    r"""Scan the maximal ``\s`` run from ``i``.

    Returns ``(end, last_start, crlf_end)``: where the run ends, where its last character
    starts, and where its last ``\r``/``\n`` ends (-1 if it has none).  Those three decide every
    whitespace alternative:

    * ``\s++$`` matches iff ``end == n``;
    * ``\s*[\r\n]`` and ``\s*[\r\n]+``: the greedy ``\s*`` gives characters back until a line
      break follows, so the match ends just after the run's *last* line break (``crlf_end``);
    * ``\s+(?!\S)``: if the run stops before a non-space, the lookahead fails there, and giving
      back one character makes it succeed, so the match is the run minus its last character
      (``last_start``), which must still be non-empty; at the end of text, the whole run.
    """
    last_start = i
    crlf_end = -1
    while i < n:
        f, w = _flags_len(buf, table, i)
        if not (f & FLAG_S):
            break
        last_start = i
        i += w
        if f & FLAG_CRLF:
            crlf_end = i
    return i, last_start, crlf_end


@njit(cache=True, nogil=True, inline="always")
def _contraction_ci(buf, table, a, n):
    """End of a case-insensitive ``s|d|m|t|ll|ve|re`` starting at ``a``, or -1.

    Used after an apostrophe; both GPT-4's ``'(?i:[sdmt]|ll|ve|re)`` and o200k's
    ``(?i:'s|'t|'re|'ve|'m|'ll|'d)`` accept exactly this set of suffixes.  The letter codes come
    from the table, so ``ſ`` (U+017F, which ``regex`` matches case-insensitively to ``s``)
    counts as an ``s``.
    """
    if a >= n:
        return -1
    f1, w1 = _flags_len(buf, table, a)
    c1 = (f1 >> LETTER_SHIFT) & 0xF
    if c1 == CODE_S or c1 == CODE_D or c1 == CODE_M or c1 == CODE_T:
        return a + w1
    b = a + w1
    if (c1 == CODE_L or c1 == CODE_V or c1 == CODE_R) and b < n:
        f2, w2 = _flags_len(buf, table, b)
        c2 = (f2 >> LETTER_SHIFT) & 0xF
        if (c1 == CODE_L and c2 == CODE_L) or (c1 != CODE_L and c2 == CODE_E):
            return b + w2
    return -1


@njit(cache=True, nogil=True)
def scan_gpt2(buf, table, out, start):
    r"""GPT-2: ``'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s``.

    Example: "I'm  here" -> ["I", "'m", " ", " here"]
    """
    n = buf.shape[0]
    cap = out.shape[0]
    out[0] = start
    k = 1
    i = start
    while i < n and k < cap:
        f, w = _flags_len(buf, table, i)
        j = i + w
        b = buf[i]
        end = -1
        # '(?:[sdmt]|ll|ve|re): case-sensitive, so plain ASCII bytes
        if b == APOSTROPHE and j < n:
            c1 = buf[j]
            if c1 == 115 or c1 == 100 or c1 == 109 or c1 == 116:  # s d m t
                end = j + 1
            elif j + 1 < n:
                c2 = buf[j + 1]
                if (c1 == 108 and c2 == 108) or (c2 == 101 and (c1 == 118 or c1 == 114)):
                    end = j + 2  # ll, ve, re
        # ' ?X++' for X in L, N, punctuation: the space alternatives are only possible after a
        # space (which is none of the three classes itself), the plain ones otherwise.
        if end < 0 and b == SPACE and j < n:
            g, _ = _flags_len(buf, table, j)
            if g & FLAG_L:
                end = _run(buf, table, j, n, FLAG_L)
            elif g & FLAG_N:
                end = _run(buf, table, j, n, FLAG_N)
            elif g & FLAG_PUNCT:
                end = _run(buf, table, j, n, FLAG_PUNCT)
        if end < 0:
            if f & FLAG_L:
                end = _run(buf, table, i, n, FLAG_L)
            elif f & FLAG_N:
                end = _run(buf, table, i, n, FLAG_N)
            elif f & FLAG_PUNCT:
                end = _run(buf, table, i, n, FLAG_PUNCT)
            else:  # whitespace: \s++$ | \s+(?!\S) | \s
                e, last_start, _ = _whitespace(buf, table, i, n)
                if e == n:
                    end = n
                elif last_start > i:
                    end = last_start
                else:
                    end = j
        if end <= i:  # unreachable; guarantees progress, so out can never overflow
            end = j
        out[k] = end
        k += 1
        i = end
    return k, i


@njit(cache=True, nogil=True)
def scan_gpt4(buf, table, out, start):
    r"""GPT-4 / cl100k: ``'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+``
    ``| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s``.
    """
    n = buf.shape[0]
    cap = out.shape[0]
    out[0] = start
    k = 1
    i = start
    while i < n and k < cap:
        f, w = _flags_len(buf, table, i)
        j = i + w
        b = buf[i]
        end = -1
        if b == APOSTROPHE:
            end = _contraction_ci(buf, table, j, n)
        if end < 0:
            g = np.int64(0)
            if j < n:
                g, _ = _flags_len(buf, table, j)
            if f & FLAG_L:
                end = _run(buf, table, i, n, FLAG_L)
            elif (f & FLAG_PREFIX) and (g & FLAG_L):
                # [^\r\n\p{L}\p{N}]?+\p{L}++ with its one-character prefix.  If the prefix is
                # there but no letter follows, the possessive ?+ may not give it back: the
                # alternative fails (and without the prefix it could not match anyway).
                end = _run(buf, table, j, n, FLAG_L)
            elif f & FLAG_N:
                end = _numbers_upto3(buf, table, i, n)
            else:
                s = -1
                if b == SPACE and (g & FLAG_PUNCT):
                    s = j
                elif f & FLAG_PUNCT:
                    s = i
                if s >= 0:  # ' ?[^\s\p{L}\p{N}]++[\r\n]*+'
                    end = _run(buf, table, _run(buf, table, s, n, FLAG_PUNCT), n, FLAG_CRLF)
                else:  # \s++$ | \s*[\r\n] | \s+(?!\S) | \s
                    e, last_start, crlf_end = _whitespace(buf, table, i, n)
                    if e == n:
                        end = n
                    elif crlf_end >= 0:
                        end = crlf_end
                    elif last_start > i:
                        end = last_start
                    else:
                        end = j
        if end <= i:  # unreachable; guarantees progress, so out can never overflow
            end = j
        out[k] = end
        k += 1
        i = end
    return k, i


@njit(cache=True, nogil=True, inline="always")
def _o200k_word(buf, table, i, n, f, j):
    r"""End of o200k's two word alternatives at ``i`` (X = ``[^\r\n\p{L}\p{N}]``), or -1.

    1. ``X?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+C?``  (UPPER* LOWER+)
    2. ``X?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*C?``  (UPPER+ LOWER*)

    Nothing here is possessive, and the classes overlap (Lm, Lo and marks are both UPPER and
    LOWER; marks are also X), so this follows the backtracking order literally.  For
    alternative 1: X? first takes one character (if it can), then UPPER* takes its maximal
    run of u characters and gives back one at a time; LOWER+ succeeds at the first
    give-back where a LOWER character follows, i.e. at the *last* LOWER position among the u
    run positions and the one just after the run.  LOWER+ then takes its maximal run, and C?
    (a contraction, always optional) cannot fail.  Only if no position works does X? give its
    character back and everything is tried again from ``i``.  Alternative 2 needs an UPPER
    character right after the optional prefix, then takes maximal runs.
    """
    for with_prefix in (True, False):
        if with_prefix and not (f & FLAG_PREFIX):
            continue
        s = j if with_prefix else i
        p = -1
        q = s
        while q < n:
            g, w = _flags_len(buf, table, q)
            if g & FLAG_LOWER:
                p = q
            if not (g & FLAG_UPPER):
                break
            q += w
        if p >= 0:
            return _o200k_contraction(buf, table, _run(buf, table, p, n, FLAG_LOWER), n)
    for with_prefix in (True, False):
        if with_prefix and not (f & FLAG_PREFIX):
            continue
        s = j if with_prefix else i
        if s < n:
            g, _ = _flags_len(buf, table, s)
            if g & FLAG_UPPER:
                e = _run(buf, table, _run(buf, table, s, n, FLAG_UPPER), n, FLAG_LOWER)
                return _o200k_contraction(buf, table, e, n)
    return -1


@njit(cache=True, nogil=True, inline="always")
def _o200k_contraction(buf, table, e, n):
    """Extend ``e`` over an optional ``(?i:'s|'t|'re|'ve|'m|'ll|'d)``."""
    if e < n and buf[e] == APOSTROPHE:
        c = _contraction_ci(buf, table, e + 1, n)
        if c >= 0:
            return c
    return e


@njit(cache=True, nogil=True)
def scan_o200k(buf, table, out, start):
    r"""o200k: two case-aware word rules (see :func:`_o200k_word`), then ``\p{N}{1,3}``,
    `` ?[^\s\p{L}\p{N}]+[\r\n/]*``, ``\s*[\r\n]+``, ``\s+(?!\S)``, ``\s+``.
    """
    n = buf.shape[0]
    cap = out.shape[0]
    out[0] = start
    k = 1
    i = start
    while i < n and k < cap:
        f, w = _flags_len(buf, table, i)
        j = i + w
        b = buf[i]
        end = -1
        g = np.int64(0)
        if j < n:
            g, _ = _flags_len(buf, table, j)
        # Both word rules need an UPPER or LOWER character at i, or right after a prefix at i;
        # testing that first spares punctuation and spaces the backtracking walk.
        word = FLAG_UPPER | FLAG_LOWER
        if (f & word) or ((f & FLAG_PREFIX) and (g & word)):
            end = _o200k_word(buf, table, i, n, f, j)
        if end < 0:
            if f & FLAG_N:
                end = _numbers_upto3(buf, table, i, n)
            else:
                s = -1
                if b == SPACE and (g & FLAG_PUNCT):
                    s = j
                elif f & FLAG_PUNCT:
                    s = i
                if s >= 0:  # ' ?[^\s\p{L}\p{N}]+[\r\n/]*' (nothing follows: maximal runs)
                    end = _run(buf, table, s, n, FLAG_PUNCT)
                    while end < n and (buf[end] == CR or buf[end] == LF or buf[end] == SLASH):
                        end += 1
                else:  # \s*[\r\n]+ | \s+(?!\S) | \s+
                    e, last_start, crlf_end = _whitespace(buf, table, i, n)
                    if crlf_end >= 0:
                        end = crlf_end
                    elif e == n or last_start == i:
                        end = e
                    else:
                        end = last_start
        if end <= i:  # unreachable; guarantees progress, so out can never overflow
            end = j
        out[k] = end
        k += 1
        i = end
    return k, i


#: The scanner of each built-in pattern, by its canonical name (``patterns.BUILTIN_SOURCES``).
SCANNERS = {"gpt2": scan_gpt2, "gpt4": scan_gpt4, "o200k": scan_o200k}


@njit(cache=True, nogil=True)
def byte_to_char_offsets(buf, byte_bounds):
    """Turn sorted UTF-8 byte offsets into code-point offsets (count non-continuation bytes).

    Example: buf = "é!".encode() = b"\\xc3\\xa9!", byte_bounds [0, 2, 3] -> [0, 1, 2]
    """
    m = byte_bounds.shape[0]
    out = np.empty(m, dtype=np.int64)
    pos = 0
    chars = 0
    for t in range(m):
        target = byte_bounds[t]
        while pos < target:
            if (buf[pos] & 0xC0) != 0x80:
                chars += 1
            pos += 1
        out[t] = chars
    return out


@njit(cache=True, nogil=True)
def join_chunks(buf, byte_bounds, sep):
    """The chunks of ``buf`` joined by the single byte ``sep`` (an ASCII character).

    ``split_fast`` decodes this once and calls ``str.split(sep)``: one C loop that builds all
    the chunk strings, about twice as fast as slicing the text once per chunk in Python.

    Example: buf b"ab cd", byte_bounds [0, 2, 5], sep 0 -> b"ab\\x00 cd"
    """
    k = byte_bounds.shape[0] - 1
    if k <= 0:
        return np.empty(0, dtype=np.uint8)
    out = np.empty(byte_bounds[k] - byte_bounds[0] + k - 1, dtype=np.uint8)
    o = 0
    for t in range(k):
        if t > 0:
            out[o] = sep
            o += 1
        for p in range(byte_bounds[t], byte_bounds[t + 1]):
            out[o] = buf[p]
            o += 1
    return out
