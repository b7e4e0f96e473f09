"""Compiled (numba) kernels, each beside its plain-NumPy reference: arrays in, arrays out.

No autograd in here: ``minigrad.ops`` and ``minigrad.nn`` call these from their backward functions.
Every public function validates its inputs (dtype, shape, layout, ids in range) before a compiled
loop runs, because numba does no bounds checks.
"""

from .buffer_cache import buffer_cache, empty_cache
from .cross_entropy import (
    CrossEntropyState,
    cross_entropy_backward,
    cross_entropy_forward,
    cross_entropy_reference,
)
from .elementwise import erf, erf_reference
from .gather import gather_rows, gather_rows_reference
from .scatter import scatter_add, scatter_add_reference
from .sparse_rows import (
    merge_row_sparse,
    merge_row_sparse_reference,
    row_sparse_sum,
    row_sparse_sum_reference,
    unique_first_seen,
)

__all__ = [
    "CrossEntropyState",
    "buffer_cache",
    "cross_entropy_backward",
    "cross_entropy_forward",
    "cross_entropy_reference",
    "empty_cache",
    "erf",
    "erf_reference",
    "gather_rows",
    "gather_rows_reference",
    "merge_row_sparse",
    "merge_row_sparse_reference",
    "row_sparse_sum",
    "row_sparse_sum_reference",
    "scatter_add",
    "scatter_add_reference",
    "unique_first_seen",
]
