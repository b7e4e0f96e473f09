"""Compiled (numba) kernels, each beside its plain-NumPy reference: arrays in, arrays out.

No autograd in here: ``minigrad.ops`` and ``minigrad.nn`` call these from their backward functions.
Every public function validates its inputs (dtype, shape, layout, ids in range) before a compiled
loop runs, because numba does no bounds checks.
"""

from .scatter import scatter_add, scatter_add_reference

__all__ = ["scatter_add", "scatter_add_reference"]
