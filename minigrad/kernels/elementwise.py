"""Elementwise special functions NumPy lacks, compiled with numba: ``erf`` (for the exact GELU).

NumPy has no ``erf`` ufunc (SciPy does; minigrad does not depend on SciPy), and
``np.vectorize(math.erf)`` calls Python once per element. Here the same libm ``erf`` runs in a
compiled loop (the cost of the exact GELU it serves: ``benchmarks/bench_tinygpt.py``).

    >>> erf(np.array([0.0, 1.0, -np.inf]))
    array([ 0.        ,  0.84270079, -1.        ])

Out of scope: the GELU itself and its gradient (``minigrad.ops``);
``d erf(x)/dx = 2/√π · exp(-x²)``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from minigrad.validate import check_float_array

__all__ = ["erf", "erf_reference"]


@njit(cache=True, nogil=True)
def erf_kernel(x: np.ndarray, out: np.ndarray) -> None:
    """Raw kernel on flat, contiguous arrays: ``out[i] = erf(x[i])`` (libm, in x's precision)."""
    for i in range(x.shape[0]):
        out[i] = math.erf(x[i])


def erf(x: np.ndarray) -> np.ndarray:
    """The error function ``erf(x) = 2/√π ∫_0^x exp(-t²) dt``, elementwise, as a new array.

    ``x``: float32 or float64 ndarray of any shape (non-contiguous input is copied first). The
    result has ``x``'s shape and dtype. NaN stays NaN; ``erf(±inf) = ±1``.
    """
    check_float_array("x", x)
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    erf_kernel(flat, out)
    return out.reshape(x.shape)


def erf_reference(x: np.ndarray) -> np.ndarray:
    """Plain Python ``math.erf`` per element (slow; the oracle for the tests)."""
    x = np.asarray(x)
    return np.vectorize(math.erf, otypes=[x.dtype])(x)
