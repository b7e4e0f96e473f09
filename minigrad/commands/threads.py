"""Run the training loop on one thread: why, and how without extra dependencies.

A step of the models ``minigrad train`` drives is about a millisecond of arithmetic on matrices
of a few hundred rows: less than it costs to wake and synchronise worker threads.  On a busy
machine with few cores the worker threads of a multi-threaded BLAS also compete with each other
and with other programs for the cores, and training slows down several times over (numbers in
``benchmarks/bench_train_eval.py``).  So the loop
runs with one BLAS thread and one numba thread, and the previous settings come back after.

BLAS: with ``threadpoolctl`` installed we use it (it knows every BLAS).  Without it we call
OpenBLAS's own ``*_set_num_threads`` through ``ctypes`` on the OpenBLAS library this process has
loaded (Linux only: found through ``/proc/self/maps``); anywhere else nothing changes.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from contextlib import contextmanager, suppress

#: Function-name prefixes and suffixes of OpenBLAS builds (plain, 64-bit ints, SciPy's wheels).
_PREFIXES = ("", "scipy_")
_SUFFIXES = ("", "64_")


def _openblas_functions() -> list[tuple[object, object]]:
    """``(get_num_threads, set_num_threads)`` of each loaded OpenBLAS (Linux), else []."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as f:
            paths = sorted({line.split()[-1] for line in f if "openblas" in line.lower()})
    except OSError:
        return []
    found = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for pre in _PREFIXES:
            for suf in _SUFFIXES:
                get = getattr(lib, f"{pre}openblas_get_num_threads{suf}", None)
                put = getattr(lib, f"{pre}openblas_set_num_threads{suf}", None)
                if get is not None and put is not None:
                    found.append((get, put))
    return found


@contextmanager
def _blas_one_thread() -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
        return
    funcs = _openblas_functions()
    previous = [get() for get, _ in funcs]
    for _, put in funcs:
        put(1)
    try:
        yield
    finally:
        for (_, put), n in zip(funcs, previous):
            put(n)


@contextmanager
def single_threaded() -> Iterator[None]:
    """Inside the block BLAS and numba use one thread each (restored afterwards)."""
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with _blas_one_thread():
            yield
    finally:
        with suppress(ValueError):
            numba.set_num_threads(previous)
