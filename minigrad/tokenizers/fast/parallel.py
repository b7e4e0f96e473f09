"""Threads for the compiled encoder: batches of texts, and one long text cut at safe points.

The kernels of ``fast.chunk_encoder`` release the GIL (``nogil=True``) and each thread has its
own pre-token cache, so threads encode at the same time on different cores.  Two uses:

* **a batch** (``encode_batch``): the texts are dealt into ``num_threads`` groups of about equal
  bytes, one task per group, so a batch of many short texts pays one task per thread, not one
  per text;
* **one long text** (``encode_parallel``): cut at ``safe_points`` into one piece per thread,
  each piece encoded alone, the ids concatenated.

In both, the calling thread does the first share itself and a pool of ``num_threads - 1``
threads the rest (``run_here_and_on_pool``): the caller does not sit idle, and the first share
always meets the cache that a one-thread encode of the same text has warmed.

Why a cut at a safe point gives the same ids.  BPE never merges across a chunk boundary, so
the ids of a text are the ids of its chunks in order; cutting the text at a chunk boundary ``p``
changes nothing *if* the pre-tokenizer finds the same chunks in the two pieces as in the whole.
The scanners are memoryless (``findall`` restarts at each match's end: ``fast.scanners``), so
the piece after ``p`` is chunked like the whole text from ``p``, provided ``p`` is a chunk
boundary.  ``p`` is a safe point when the byte before it is ``"\\n"`` and the character at it
is neither whitespace (``\\s``) nor ``/``; then, for every built-in pattern (GPT-2, GPT-4 /
cl100k, o200k):

* no chunk contains both the ``"\\n"`` and the character at ``p``: letter and number runs and
  their optional one-character prefix exclude ``"\\n"``; a punctuation run may *end* in line
  breaks (``[\\r\\n]*``, o200k's ``[\\r\\n/]*``) but those stop at a character that is neither
  a line break nor ``/``; whitespace runs stop at a non-whitespace character; so ``p`` is a
  boundary;
* every match that ends at or before ``p`` looked at no character beyond the one at ``p``
  (the runs above stop there, and the only lookahead, ``\\s+(?!\\S)``, reads one character), so
  the scan of the piece before ``p`` may stop at the end of that character
  (``ChunkEncoder.encode(data, start, stop)``).

The tests check both halves on arbitrary text for each pattern, and the ids against the
one-thread encode and tiktoken.  A text without such a point (one long line) is encoded by one
thread.  Threads are worth it only for long texts (``PARALLEL_MIN_BYTES``).

Memory: one cache per thread per tokenizer (``chunk_encoder.CACHE_ENTRIES`` entries each); the
pools are kept (``_pool``, one per thread count) so that their threads, and so their caches,
persist between calls.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from minigrad.tokenizers.fast.unicode_table import FLAG_S

#: Texts shorter than this many UTF-8 bytes are encoded by the calling thread.
PARALLEL_MIN_BYTES = 1 << 18

# A line feed, then a printable ASCII character other than "/" or the lead byte of a
# multi-byte character (checked against the class table: it must not be whitespace).
_CANDIDATE = re.compile(rb"\n[!-.0-~\xc2-\xf4]")
_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()
_pools_pid = os.getpid()


def check_threads(num_threads: object) -> int:
    """``num_threads`` as a positive int, else ``TypeError`` / ``ValueError``."""
    if isinstance(num_threads, bool) or not isinstance(num_threads, (int, np.integer)):
        raise TypeError(f"num_threads must be an int, got {type(num_threads).__name__}")
    if num_threads < 1:
        raise ValueError(f"num_threads must be at least 1, got {num_threads}")
    return int(num_threads)


def _pool(n: int) -> ThreadPoolExecutor:
    """The pool of ``n`` threads of this process (a forked child, e.g. a data-loader worker,
    inherits the parent's pools without their threads: it makes its own)."""
    global _pools_pid
    with _pools_lock:
        if _pools_pid != os.getpid():
            _pools.clear()
            _pools_pid = os.getpid()
        pool = _pools.get(n)
        if pool is None:
            pool = _pools[n] = ThreadPoolExecutor(n, thread_name_prefix="minigrad-encode")
        return pool


def _code_point(data: bytes, p: int) -> int:
    """The code point whose UTF-8 encoding starts at byte ``p`` of valid UTF-8 ``data``."""
    lead = data[p]
    width = 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
    return ord(data[p : p + width].decode("utf-8"))


def is_safe_point(data: bytes, p: int, table: np.ndarray) -> bool:
    """Whether byte offset ``p`` of UTF-8 ``data`` is a safe point (module docstring)."""
    if not 0 < p < len(data) or data[p - 1] != 0x0A or data[p] == 0x2F:
        return False
    if 0x80 <= data[p] < 0xC0:  # a continuation byte: not a character start
        return False
    return not (int(table[_code_point(data, p)]) & FLAG_S)


def safe_points(data: bytes, parts: int, table: np.ndarray) -> list[int]:
    """Up to ``parts - 1`` safe points of ``data``, increasing, near ``k * len(data) / parts``
    (each the first one at or after its target)."""
    points: list[int] = []
    n = len(data)
    for k in range(1, parts):
        pos = max(k * n // parts, points[-1] if points else 0)
        while (m := _CANDIDATE.search(data, pos)) is not None:
            p = m.start() + 1
            if is_safe_point(data, p, table):
                if not points or p > points[-1]:
                    points.append(p)
                break
            pos = p
        else:
            break
    return points


def map_threads(fn, items: list, num_threads: int) -> list:
    """``[fn(x) for x in items]``, on the pool of ``num_threads`` threads when that is > 1."""
    if num_threads < 2 or len(items) < 2:
        return [fn(x) for x in items]
    return list(_pool(num_threads).map(fn, items))


def run_here_and_on_pool(fn, items: list, num_threads: int) -> list:
    """``[fn(x) for x in items]``: ``items[1:]`` on the pool of ``num_threads - 1`` threads
    while the calling thread runs ``fn(items[0])``.

    The caller would only wait otherwise, and this way the first piece always lands on the
    same thread, so its pre-token cache is the one a one-thread encode warms.  The pool's size
    depends on ``num_threads`` alone, not on how many pieces a text happened to give, so one
    pool (and one set of per-thread caches) serves every call with the same thread count.
    """
    if num_threads < 2 or len(items) < 2:
        return [fn(x) for x in items]
    futures = [_pool(num_threads - 1).submit(fn, x) for x in items[1:]]
    try:
        first = fn(items[0])
        return [first, *(f.result() for f in futures)]
    except BaseException:  # Ctrl-C here or a piece's error: drop the pieces not yet started
        for f in futures:
            f.cancel()
        raise


def encode_parallel(encoder, data: bytes, num_threads: int) -> np.ndarray:
    """``encoder.encode(data)`` (a ``ChunkEncoder``) with the text cut at safe points and the
    pieces encoded by ``num_threads`` threads, at most one per CPU (more pieces than cores
    gain nothing and each thread warms a cache of its own); the same int32 ids."""
    num_threads = min(num_threads, os.cpu_count() or 1)
    if num_threads < 2 or len(data) < PARALLEL_MIN_BYTES:
        return encoder.encode(data)
    cuts = [0, *safe_points(data, num_threads, encoder.table), len(data)]
    if len(cuts) == 2:
        return encoder.encode(data)
    buf = np.frombuffer(data, np.uint8)
    return np.concatenate(
        run_here_and_on_pool(
            lambda a_b: encoder.encode(buf, *a_b), list(itertools.pairwise(cuts)), num_threads
        )
    )


def encode_batch(encoder, datas: list[bytes], num_threads: int) -> list[list[int]]:
    """The ids of each of ``datas`` (UTF-8 texts), as lists, with ``num_threads`` threads.

    The texts are dealt, in order, into groups of about equal bytes (one per thread); each
    group is one task that encodes its texts (``ChunkEncoder.encode_many``: the compiled part,
    without the GIL, many short texts per call) and turns the ids into lists (with the GIL).
    """
    if len(datas) == 1:
        return [encoder.to_list(encode_parallel(encoder, datas[0], num_threads))]
    total = sum(len(d) for d in datas)
    if num_threads < 2 or len(datas) < 2 or total < PARALLEL_MIN_BYTES // 4:
        return encoder.encode_many(datas)
    bounds = [0]
    acc = 0
    for i, d in enumerate(datas):
        acc += len(d)
        if acc * num_threads >= total * len(bounds) and len(bounds) < num_threads:
            bounds.append(i + 1)
    if bounds[-1] != len(datas):
        bounds.append(len(datas))

    def group(a_b: tuple[int, int]) -> list[list[int]]:
        return encoder.encode_many(datas[a_b[0] : a_b[1]])

    out: list[list[int]] = []
    for ids in run_here_and_on_pool(group, list(itertools.pairwise(bounds)), num_threads):
        out += ids
    return out
