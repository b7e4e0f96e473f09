"""Compiled (numba) kernels, each beside its plain-NumPy reference: arrays in, arrays out.

No autograd in here: ``minigrad.ops`` and ``minigrad.optim`` call these from their forward and
backward functions and their steps.  Every public function validates its inputs (dtype, shape,
layout, ids in range: :mod:`minigrad.validate`) before a compiled loop runs, because numba does
no bounds checks.

numba loads on first kernel use, not on ``import minigrad``: this package's own import runs no
kernel module.  ``kernels.scatter_add`` (or ``from minigrad.kernels import scatter_add``) imports
``kernels/scatter.py``, and numba with it, the first time the name is asked for (a module
``__getattr__``, PEP 562); after that it is an ordinary attribute.  The buffer cache
(``buffer_cache.py``) is plain Python and always loaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .buffer_cache import buffer_cache, empty_cache

#: Each kernel function, and the module of this package that defines it (loaded on first use).
_HOME = {
    "CrossEntropyState": "cross_entropy",
    "cross_entropy_backward": "cross_entropy",
    "cross_entropy_forward": "cross_entropy",
    "cross_entropy_reference": "cross_entropy",
    "erf": "elementwise",
    "erf_reference": "elementwise",
    "gelu_erf_backward": "elementwise",
    "gelu_erf_backward_reference": "elementwise",
    "gelu_erf_forward": "elementwise",
    "gelu_erf_forward_reference": "elementwise",
    "gather_rows": "gather",
    "gather_rows_reference": "gather",
    "gather_rows_unchecked": "gather",
    "adam_dense_": "optim",
    "adam_dense_reference": "optim",
    "layer_norm_backward": "layer_norm",
    "layer_norm_backward_reference": "layer_norm",
    "layer_norm_forward": "layer_norm",
    "layer_norm_forward_reference": "layer_norm",
    "axpy_": "optim",
    "lazy_adam_rows": "optim",
    "lazy_adam_rows_reference": "optim",
    "causal_softmax_": "softmax_rows",
    "causal_softmax_backward_": "softmax_rows",
    "causal_softmax_backward_reference": "softmax_rows",
    "causal_softmax_reference": "softmax_rows",
    "softmax_xent_rows_": "softmax_rows",
    "softmax_xent_rows_reference": "softmax_rows",
    "scatter_add": "scatter",
    "scatter_add_reference": "scatter",
    "merge_row_sparse": "sparse_rows",
    "merge_row_sparse_reference": "sparse_rows",
    "row_sparse_sum": "sparse_rows",
    "row_sparse_sum_reference": "sparse_rows",
    "unique_first_seen": "sparse_rows",
}

__all__ = [
    "CrossEntropyState",
    "adam_dense_",
    "adam_dense_reference",
    "axpy_",
    "buffer_cache",
    "causal_softmax_",
    "causal_softmax_backward_",
    "causal_softmax_backward_reference",
    "causal_softmax_reference",
    "cross_entropy_backward",
    "cross_entropy_forward",
    "cross_entropy_reference",
    "empty_cache",
    "erf",
    "erf_reference",
    "gather_rows",
    "gather_rows_reference",
    "gather_rows_unchecked",
    "gelu_erf_backward",
    "gelu_erf_backward_reference",
    "gelu_erf_forward",
    "gelu_erf_forward_reference",
    "layer_norm_backward",
    "layer_norm_backward_reference",
    "layer_norm_forward",
    "layer_norm_forward_reference",
    "lazy_adam_rows",
    "lazy_adam_rows_reference",
    "merge_row_sparse",
    "merge_row_sparse_reference",
    "row_sparse_sum",
    "row_sparse_sum_reference",
    "scatter_add",
    "scatter_add_reference",
    "softmax_xent_rows_",
    "softmax_xent_rows_reference",
    "unique_first_seen",
]


def __getattr__(name: str) -> Any:
    """Import the module that defines kernel ``name`` (the first time only) and return it."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # from now on found without this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})


if TYPE_CHECKING:  # what the names are, for type checkers and editors (nothing runs here)
    from .cross_entropy import (
        CrossEntropyState,
        cross_entropy_backward,
        cross_entropy_forward,
        cross_entropy_reference,
    )
    from .elementwise import (
        erf,
        erf_reference,
        gelu_erf_backward,
        gelu_erf_backward_reference,
        gelu_erf_forward,
        gelu_erf_forward_reference,
    )
    from .gather import gather_rows, gather_rows_reference, gather_rows_unchecked
    from .layer_norm import (
        layer_norm_backward,
        layer_norm_backward_reference,
        layer_norm_forward,
        layer_norm_forward_reference,
    )
    from .optim import (
        adam_dense_,
        adam_dense_reference,
        axpy_,
        lazy_adam_rows,
        lazy_adam_rows_reference,
    )
    from .scatter import scatter_add, scatter_add_reference
    from .softmax_rows import (
        causal_softmax_,
        causal_softmax_backward_,
        causal_softmax_backward_reference,
        causal_softmax_reference,
        softmax_xent_rows_,
        softmax_xent_rows_reference,
    )
    from .sparse_rows import (
        merge_row_sparse,
        merge_row_sparse_reference,
        row_sparse_sum,
        row_sparse_sum_reference,
        unique_first_seen,
    )
