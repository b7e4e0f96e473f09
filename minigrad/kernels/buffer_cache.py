"""A small cache of large scratch arrays, handed out again once nothing else refers to them.

Why: a training loop asks for the same big buffers every step (the cross-entropy forward needs one
``(N, C)`` array: 819 MB for N = 4,096 and C = 50,000). A fresh ``np.empty`` of that size is
``mmap``-ed memory that the kernel must fault in and zero page by page on first touch, and that
goes back to the operating system on ``free``. Measured on the 2-core VM
(``benchmarks/bench_cross_entropy.py``): filling a fresh 819 MB array took 52 ms against 28 ms for
a reused one, and after other code had freed large arrays the first touch sometimes took 0.6-2 s
(the hypervisor had taken the pages back). Reusing the buffer removes both costs; PyTorch's CUDA
caching allocator exists for the same reason.

How it knows a buffer is free: every NumPy view keeps a reference to the array that owns the
memory (``view.base``), and so does anything that exported its buffer (a ``memoryview``). So when
the cache's own reference is the *only* reference left (``sys.getrefcount``), no array, view or
gradient anywhere can still see the memory, and handing it out again cannot corrupt anything.
A buffer someone keeps (say a gradient stored in ``.grad``) is simply never reused.

Only arrays of at least ``min_bytes`` (:data:`MIN_BYTES`) are cached (small ones are cheap to
allocate), and at most ``limit_bytes`` in total (4 GiB for the shared cache, or the environment
variable ``MINIGRAD_BUFFER_CACHE_BYTES``; 0 turns caching off); :func:`empty_cache` frees every
cached array that is not in use. A handed-out array holds garbage, as with ``np.empty``.
"""

from __future__ import annotations

import os
import sys
import threading

import numpy as np

__all__ = ["MIN_BYTES", "BufferCache", "buffer_cache", "empty_cache"]

#: arrays smaller than this are never cached (a fresh allocation of them costs microseconds)
MIN_BYTES = 16 << 20
#: default bound on the bytes the shared cache keeps (in use or not)
DEFAULT_LIMIT_BYTES = 4 << 30


def _refcount_of_item(arrays: list[np.ndarray], k: int) -> int:
    return sys.getrefcount(arrays[k])


#: the reference count an array held only by the cache's list shows inside ``_refcount_of_item``
_ONLY_THE_CACHE = _refcount_of_item([np.empty(0)], 0)


class BufferCache:
    """Hands out ``(shape, dtype)`` arrays, reusing a cached one that nobody else refers to."""

    def __init__(self, limit_bytes: int = DEFAULT_LIMIT_BYTES, min_bytes: int = MIN_BYTES) -> None:
        self.limit_bytes = int(limit_bytes)
        self.min_bytes = int(min_bytes)
        self._arrays: list[np.ndarray] = []
        self._lock = threading.Lock()
        #: requests served from the cache, and requests that allocated (for tests and benchmarks)
        self.hits = 0
        self.misses = 0

    def _is_free(self, k: int) -> bool:
        return _refcount_of_item(self._arrays, k) <= _ONLY_THE_CACHE

    @property
    def cached_bytes(self) -> int:
        """Bytes held by the cache, in use or not."""
        return sum(a.nbytes for a in self._arrays)

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
                    # most recently used last, so eviction below drops the stalest buffers first
                    self._arrays.append(self._arrays.pop(k))
                    return self._arrays[-1]
            self.misses += 1
            self._evict_free(until_room_for=nbytes)
            out = np.empty(shape, dtype)
            if self.cached_bytes + nbytes <= self.limit_bytes:
                self._arrays.append(out)
            return out

    def _evict_free(self, until_room_for: int) -> None:
        k = 0
        while k < len(self._arrays) and self.cached_bytes + until_room_for > self.limit_bytes:
            if self._is_free(k):
                del self._arrays[k]
            else:
                k += 1

    def holds(self, a: np.ndarray) -> bool:
        """True if ``a`` itself (not a view of it) is one of the cached arrays."""
        return any(b is a for b in self._arrays)

    def clear(self) -> int:
        """Drop every cached array that is not in use; return the bytes released."""
        with self._lock:
            before = self.cached_bytes
            self._evict_free(until_room_for=self.limit_bytes + 1)
            return before - self.cached_bytes


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
    """Release the shared cache's unused buffers to the allocator; returns the bytes released."""
    return buffer_cache.clear()
