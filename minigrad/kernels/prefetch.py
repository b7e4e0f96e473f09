"""Software prefetch for compiled loops that visit table rows in an order the CPU cannot guess.

A sparse optimizer step visits the touched rows of a ``V x d`` table (and of Adam's two moment
tables) in sorted id order. At V = 1e6 the tables are 256 MB each, every visited row is a cache
miss, and the loop waits ~100 ns per table per row, because the hardware prefetcher only follows
regular strides. The ids of the next rows are known in advance, though, so the loop can ask for
them a few rows early (``prefetch_row``) and the misses overlap instead of queueing (what that
saved in the lazy Adam step: ``benchmarks/bench_embedding_step.py``).

``prefetch_row(a, r)`` issues one prefetch per 64-byte cache line of row ``r`` of the C-contiguous
2-D array ``a``. It is a hint: it never faults, reads nothing back and changes no result, even for
an address outside the array, so it needs no bounds check. It compiles to LLVM's
``llvm.prefetch`` intrinsic; under ``NUMBA_DISABLE_JIT=1`` it is a no-op Python function.
"""

from __future__ import annotations

import numpy as np
from numba import config, njit, types

__all__ = ["CACHE_LINE", "PREFETCH_AHEAD", "prefetch_row"]

#: bytes per cache line (x86-64 and most ARM cores)
CACHE_LINE = 64
#: how many rows ahead the kernels prefetch (2 to 16 timed alike; 4 leaves slack for slow memory)
PREFETCH_AHEAD = 4

if config.DISABLE_JIT:

    def prefetch_address(address: int) -> None:
        """No-op without the JIT: a prefetch never changes a result."""

else:
    from llvmlite import ir
    from numba.extending import intrinsic

    @intrinsic
    def prefetch_address(typingctx, address):
        """``llvm.prefetch(address, write, high locality, data cache)`` for an integer address."""
        if not isinstance(address, types.Integer):
            return None

        def codegen(context, builder, signature, args):
            i8p = ir.IntType(8).as_pointer()
            i32 = ir.IntType(32)
            fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
            fn = builder.module.declare_intrinsic("llvm.prefetch", [i8p], fnty)
            # rw = 1: the row will be written; locality = 3: keep it in every cache level;
            # cache type = 1: data
            ptr = builder.inttoptr(args[0], i8p)
            builder.call(fn, [ptr, i32(1), i32(3), i32(1)])
            return context.get_dummy_value()

        return types.void(address), codegen


@njit(cache=True, nogil=True, inline="always")
def prefetch_row(a: np.ndarray, r: int) -> None:
    """Hint that row ``r`` of the C-contiguous 2-D array ``a`` will be read and written soon."""
    row_bytes = a.shape[1] * a.itemsize
    start = a.ctypes.data + r * row_bytes
    for offset in range(0, row_bytes, CACHE_LINE):
        prefetch_address(start + offset)
