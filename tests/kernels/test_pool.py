"""pool.run_on_ranges: every part runs exactly once, errors surface, any thread count works."""

from __future__ import annotations

import threading

import numba
import numpy as np
import pytest

from minigrad.kernels.pool import run_on_ranges


@pytest.mark.nojit
@pytest.mark.parametrize("threads", [1, 2])
def test_every_part_runs_once(threads):
    old = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        hits = np.zeros(100, np.int64)
        lock = threading.Lock()

        def part(hits, lo, hi):
            with lock:
                hits[lo:hi] += 1

        run_on_ranges(part, list(range(0, 101, 7)) + [100], hits)
        np.testing.assert_array_equal(hits, 1)
    finally:
        numba.set_num_threads(old)


@pytest.mark.nojit
def test_worker_error_is_raised():
    def part(lo, hi):
        if lo == 3:
            raise ValueError("part 3 failed")

    with pytest.raises(ValueError, match="part 3 failed"):
        run_on_ranges(part, [0, 1, 2, 3, 4, 5])


@pytest.mark.nojit
def test_no_reference_to_the_arguments_outlives_the_call():
    """The buffer cache reuses an array once nothing else refers to it, so a pool worker (or a
    cancelled work item left in the pool's queue) still holding the call's arguments after it
    returned made reuse depend on thread timing: a test that needed the reuse failed now and
    then in full runs (issue 12). Every reference must be gone by the time the call returns."""
    import sys

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs two threads")
    old = numba.get_num_threads()
    numba.set_num_threads(2)
    try:
        buf = np.zeros(64)
        baseline = sys.getrefcount(buf)

        def part(buf, lo, hi):
            buf[lo:hi] += 1

        leftovers = []
        for _ in range(300):
            run_on_ranges(part, [0, 64], buf)  # one part: the helper is always cancelled
            run_on_ranges(part, list(range(0, 65, 8)), buf)  # eight parts, both threads
            leftovers.append(sys.getrefcount(buf) - baseline)
        assert leftovers == [0] * len(leftovers)
    finally:
        numba.set_num_threads(old)
