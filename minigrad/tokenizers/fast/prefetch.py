"""``prefetch(a, i)``: ask the CPU to start loading the cache line of ``a[i]``, and go on.

The trainer's merge loop visits words and hash slots whose addresses it knows some steps before
it reads them; a load that misses every cache costs a few hundred cycles, and a plain load
issued early still holds up the loop when the processor retires it.  LLVM's ``llvm.prefetch``
(a hint: it never faults, whatever the address, and changes no result) lets those misses
overlap with the work on earlier words.  Under ``NUMBA_DISABLE_JIT=1`` it is a no-op function.
"""

from __future__ import annotations

from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["prefetch"]


@intrinsic
def _prefetch(typingctx, arr, idx):
    if not isinstance(arr, types.Array) or not isinstance(idx, types.Integer):
        return None
    sig = types.void(arr, types.intp)

    def codegen(context, builder, signature, args):
        from llvmlite import ir

        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # a read (0), kept in all cache levels (3), of data (1)
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


if config.DISABLE_JIT:

    def prefetch(arr, i) -> None:
        """No-op: plain Python has no cache hints."""

else:
    prefetch = _prefetch
