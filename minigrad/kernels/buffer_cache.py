"""A small cache of large scratch arrays, handed out again once nothing else refers to them.

Why: a training loop asks for the same big buffers every step (the cross-entropy forward needs one
``(N, C)`` array: 819 MB for N = 4,096 and C = 50,000). A fresh ``np.empty`` of that size is
``mmap``-ed memory that the kernel must fault in and zero page by page on first touch, and that
goes back to the operating system on ``free``; on a virtual machine the first touch can cost far
more, when the host has taken the pages back. Reusing the buffer removes both costs (how much,
fresh against reused: ``benchmarks/bench_cross_entropy.py``); PyTorch's CUDA caching allocator
exists for the same reason.

How it knows a buffer is free: every NumPy view keeps a reference to the array that owns the
memory (``view.base``), and so does anything that exported its buffer (a ``memoryview``). So when
the cache's own reference is the *only* reference left (``sys.getrefcount``), no array, view or
gradient anywhere can still see the memory, and handing it out again cannot corrupt anything.
A buffer someone keeps (say a gradient stored in ``.grad``) is simply never reused.

What it keeps idle is bounded: after every request, the buffers nobody uses any more may take
at most ``idle_multiple`` (:data:`IDLE_MULTIPLE`) times the largest buffer in use (the request
just served included); the stalest of them are dropped first, and they are dropped *before* a
new array is allocated, so their memory can be reused for it. Without that bound a loop whose
batch size changes every step would keep one dead buffer per size it ever saw, and its memory
would grow by gigabytes (see ``benchmarks/bench_cross_entropy.py``). Only arrays of at least
``min_bytes`` (:data:`MIN_BYTES`) are cached (small ones are cheap to allocate), and at most
``limit_bytes`` in total, in use or not (4 GiB for the shared cache, or the environment variable
``MINIGRAD_BUFFER_CACHE_BYTES``; 0 turns caching off). :func:`empty_cache` frees every cached
array that is not in use, in every cache (the parallel scatter's scratch tables included). A
handed-out array holds garbage, as with ``np.empty``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import weakref
from collections.abc import Iterator

import numpy as np

__all__ = ["MIN_BYTES", "BufferCache", "buffer_cache", "empty_cache"]

#: arrays smaller than this are never cached (a fresh allocation of them costs microseconds)
MIN_BYTES = 16 << 20
#: default bound on the bytes the shared cache keeps (in use or not)
DEFAULT_LIMIT_BYTES = 4 << 30
#: unused buffers may take at most this many times the largest buffer in use
IDLE_MULTIPLE = 2


def _refcount_of_item(arrays: list[np.ndarray], k: int) -> int:
    return sys.getrefcount(arrays[k])


#: the reference count an array held only by the cache's list shows inside ``_refcount_of_item``
_ONLY_THE_CACHE = _refcount_of_item([np.empty(0)], 0)

#: every cache in the process, so that :func:`empty_cache` can empty them all
_all_caches: weakref.WeakSet[BufferCache] = weakref.WeakSet()


class BufferCache:
    """Hands out ``(shape, dtype)`` arrays, reusing a cached one that nobody else refers to."""

    def __init__(
        self,
        limit_bytes: int = DEFAULT_LIMIT_BYTES,
        min_bytes: int = MIN_BYTES,
        idle_multiple: float = IDLE_MULTIPLE,
    ) -> None:
        self.limit_bytes = int(limit_bytes)
        self.min_bytes = int(min_bytes)
        self.idle_multiple = float(idle_multiple)
        self._arrays: list[np.ndarray] = []  # least recently handed out first
        self._lock = threading.Lock()
        #: requests served from the cache, and requests that allocated (for tests and benchmarks)
        self.hits = 0
        self.misses = 0
        _all_caches.add(self)

    def _is_free(self, k: int) -> bool:
        return _refcount_of_item(self._arrays, k) <= _ONLY_THE_CACHE

    @property
    def cached_bytes(self) -> int:
        """Bytes held by the cache, in use or not."""
        return sum(a.nbytes for a in self._arrays)

    @property
    def idle_bytes(self) -> int:
        """Bytes of cached buffers that nobody else refers to (what :meth:`clear` would free)."""
        with self._lock:
            return sum(self._arrays[k].nbytes for k in range(len(self._arrays)) if self._is_free(k))

    def empty(self, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
        """An uninitialised C-contiguous array, like ``np.empty(shape, dtype)``."""
        dtype = np.dtype(dtype)
        shape = tuple(int(s) for s in shape)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if nbytes < self.min_bytes or nbytes > self.limit_bytes:
            return np.empty(shape, dtype)
        with self._lock:
            # by index, not `for a in ...`: a loop variable would be one more reference
            for k in range(len(self._arrays)):
                if (
                    self._arrays[k].shape == shape
                    and self._arrays[k].dtype == dtype
                    and (self._is_free(k))
                ):
                    self.hits += 1
                    # most recently used last, so eviction drops the stalest buffers first
                    out = self._arrays.pop(k)  # our reference: it counts as in use now
                    self._arrays.append(out)
                    self._evict_idle(new_bytes=0)
                    return out
            self.misses += 1
            self._evict_idle(new_bytes=nbytes)  # before allocating: the memory can be reused
            out = np.empty(shape, dtype)
            if self.cached_bytes + nbytes <= self.limit_bytes:
                self._arrays.append(out)
            return out

    def _evict_idle(self, new_bytes: int) -> None:
        """Drop the stalest free buffers until the idle ones fit the bounds (lock held).

        Bounds: idle bytes <= ``idle_multiple`` x the largest buffer in use (counting a new
        one of ``new_bytes``), and everything cached plus ``new_bytes`` <= ``limit_bytes``.
        """
        free = [self._is_free(k) for k in range(len(self._arrays))]
        sizes = [a.nbytes for a in self._arrays]
        largest_live = max([new_bytes] + [n for n, f in zip(sizes, free) if not f])
        idle_cap = self.idle_multiple * largest_live
        idle = sum(n for n, f in zip(sizes, free) if f)
        total = sum(sizes) + new_bytes
        keep = []
        for k, (n, f) in enumerate(zip(sizes, free)):
            if f and (idle > idle_cap or total > self.limit_bytes):
                idle -= n
                total -= n
            else:
                keep.append(k)
        if len(keep) < len(self._arrays):
            self._arrays = [self._arrays[k] for k in keep]

    def holds(self, a: np.ndarray) -> bool:
        """True if ``a`` itself (not a view of it) is one of the cached arrays."""
        return any(b is a for b in self._arrays)

    def clear(self) -> int:
        """Drop every cached array that is not in use; return the bytes released."""
        with self._lock:
            before = self.cached_bytes
            self._arrays = [
                self._arrays[k] for k in range(len(self._arrays)) if not self._is_free(k)
            ]
            return before - self.cached_bytes

    @contextlib.contextmanager
    def isolated(self) -> Iterator[BufferCache]:
        """Within the block, this cache starts empty, with its default bounds and zero counters.

        For tests: whatever earlier code left cached (free or in use), whatever limits it set,
        nothing of it shows inside the block. Afterwards the earlier state comes back and the
        buffers cached inside are simply forgotten (a forgotten buffer is an ordinary array).
        """
        with self._lock:
            saved = (self._arrays, self.hits, self.misses, self.limit_bytes, self.min_bytes,
                     self.idle_multiple)  # fmt: skip
            self._arrays, self.hits, self.misses = [], 0, 0
            self.limit_bytes, self.min_bytes = DEFAULT_LIMIT_BYTES, MIN_BYTES
            self.idle_multiple = IDLE_MULTIPLE
        try:
            yield self
        finally:
            with self._lock:
                (self._arrays, self.hits, self.misses, self.limit_bytes, self.min_bytes,
                 self.idle_multiple) = saved  # fmt: skip


def _limit_from_environment() -> int:
    """``MINIGRAD_BUFFER_CACHE_BYTES`` (0 turns caching off), else :data:`DEFAULT_LIMIT_BYTES`."""
    raw = os.environ.get("MINIGRAD_BUFFER_CACHE_BYTES", "").strip()
    if not raw:
        return DEFAULT_LIMIT_BYTES
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(
            f"MINIGRAD_BUFFER_CACHE_BYTES must be a whole number of bytes, got {raw!r}"
        ) from None
    if value < 0:
        raise ValueError(f"MINIGRAD_BUFFER_CACHE_BYTES must be >= 0, got {value}")
    return value


#: the cache the kernels share (its ``limit_bytes`` may be changed at any time)
buffer_cache = BufferCache(_limit_from_environment())


def empty_cache() -> int:
    """Release every cache's unused buffers to the allocator; returns the bytes released.

    That is the shared cache and the others (the parallel scatter keeps its per-thread scratch
    tables in one of its own).
    """
    return sum(cache.clear() for cache in list(_all_caches))
