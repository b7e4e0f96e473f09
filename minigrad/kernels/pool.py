"""One small thread pool shared by the kernels that split their rows between threads.

Why Python threads and not numba's ``prange``: the kernels handed to this pool are ``nogil`` numba
functions and NumPy ufuncs, which release the GIL, so the threads really run in parallel. On a quiet
machine this is as fast as ``prange`` (whose OpenMP runtime is about as cheap to start), but on a
busy one it degrades gracefully: OpenMP's spinning barrier waits for a worker that is not
scheduled, which made a ``prange`` scatter-add many times slower than the serial loop on a loaded
machine (numbers: ``benchmarks/bench_scatter.py``), while pool workers simply sleep until they are.

The thread count follows ``numba.get_num_threads()`` (set it with ``numba.set_num_threads``), so
one knob controls every kernel.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numba

__all__ = ["PARTS_PER_THREAD", "num_threads", "run_on_ranges"]

#: split work into this many parts per thread, so that threads that run late or slow balance out
PARTS_PER_THREAD = 4

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def num_threads() -> int:
    """The number of threads kernels may use: numba's setting (``numba.set_num_threads``)."""
    return numba.get_num_threads()


def _thread_pool(size: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < size:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="minigrad-kernel")
            _pool_size = size
        return _pool


def run_on_ranges(fn: Callable[..., None], bounds: list[int], *args: object) -> None:
    """Call ``fn(*args, bounds[p], bounds[p + 1])`` once for every part p, using up to
    ``num_threads()`` threads, and return when all parts are done.

    The calling thread works too: it and ``num_threads() - 1`` pool workers take the next
    unclaimed part from a shared counter until none is left. So the parts balance themselves (give
    more parts than threads), and if the machine is so busy that a worker is not scheduled in time,
    the caller simply does its parts and cancels it: the worst case is the serial time, not a wait
    for the OS scheduler. A worker's exception is re-raised here. The caller guarantees that
    different parts write disjoint memory.
    """
    parts = list(itertools.pairwise(bounds))
    helpers_wanted = min(num_threads(), len(parts)) - 1
    if helpers_wanted <= 0:
        for lo, hi in parts:
            fn(*args, lo, hi)
        return
    lock = threading.Lock()
    next_part = [0]
    # The helpers reach fn and its arguments only through this list, emptied before returning:
    # a pool thread finishing up, or a cancelled work item still in the pool's queue, must not
    # keep the arrays alive after the call (the buffer cache reuses an array only once nothing
    # else refers to it, so a lingering reference made reuse depend on thread timing).
    task = [fn, args]

    def work() -> None:
        while True:
            with lock:
                k = next_part[0]
                next_part[0] += 1
                if k >= len(parts) or not task:
                    return
                f, a = task
            f(*a, *parts[k])
            del f, a

    pool = _thread_pool(helpers_wanted)
    helpers = [pool.submit(work) for _ in range(helpers_wanted)]
    try:
        work()
    finally:
        for h in helpers:
            if not h.cancel():  # cancel() fails only once the helper has started: wait for it
                h.result()
        with lock:
            task.clear()
