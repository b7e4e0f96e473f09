"""A float32 ``exp`` that LLVM can vectorise inside numba loops, for arguments ``<= 0``.

numba without Intel's SVML (as installed here) turns ``np.exp`` inside a compiled loop into a
scalar libm call per element, several times slower than NumPy's own SIMD ``np.exp`` (numbers:
``benchmarks/bench_cross_entropy.py``). The softmax in the fused
cross-entropy only ever needs ``exp(x - rowmax)``, an argument ``<= 0``; written as plain float
arithmetic (no calls, no branches), that exponential compiles to AVX-512 code in the same loop
that subtracts the row maximum, so the (N, C) buffer is written once instead of twice.

How: split ``t = k ln2 + r`` with an integer ``k`` and ``|r| <= ln2 / 2``, so
``exp(t) = 2^k * exp(r)``:

* ``k = round(t / ln2)``: adding and subtracting 1.5 * 2^23 rounds a float32 to the nearest
  integer (the float has no bits left for a fraction at that magnitude);
* ``r = t - k ln2`` with ln2 split in two parts (Cody and Waite), the first exact in float32, so
  the product ``k * LN2_HI`` has no rounding error;
* ``exp(r) ~ 1 + r + r^2 * P(r)`` with the degree-5 polynomial P of the Cephes library's
  ``expf`` (a minimax fit; relative error about 1e-7 on the interval);
* ``2^k`` is built directly as float32 bits: exponent field ``k + 127``, mantissa 0.

Results, measured against float64 ``np.exp`` over every float32 in [-88, 0] and tested
(``tests/kernels/test_fast_exp.py``): at most 2 units in the last place from NumPy's float32
``exp``. Below ``MIN_ARG`` the true result is under float32's smallest normal number (1.2e-38):
this function returns exactly 0 there (``-inf`` included), as a flush-to-zero CPU mode would;
NaN gives NaN.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["MIN_ARG", "exp_nonpositive_f32", "exp_nonpositive_reference"]

_LOG2E = np.float32(1.4426950408889634)
_LN2_HI = np.float32(0.693359375)  # 8 significant bits: k * _LN2_HI is exact for |k| < 2^15
_LN2_LO = np.float32(-2.12194440e-4)
_ROUNDER = np.float32(12582912.0)  # 1.5 * 2^23
_P0 = np.float32(1.9875691500e-4)
_P1 = np.float32(1.3981999507e-3)
_P2 = np.float32(8.3334519073e-3)
_P3 = np.float32(4.1665795894e-2)
_P4 = np.float32(1.6666665459e-1)
_P5 = np.float32(5.0000001201e-1)
_ONE = np.float32(1.0)
_ZERO = np.float32(0.0)
#: exp(MIN_ARG) is float32's smallest normal number; smaller arguments give exactly 0
MIN_ARG = np.float32(-87.33654)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def exp_nonpositive_f32(t: np.float32) -> np.float32:
    """``exp(t)`` for a float32 ``t <= 0`` (see the module docstring for accuracy and limits)."""
    tc = t if t > MIN_ARG else MIN_ARG  # keeps 2^k a normal number; NaN is restored below
    k = (tc * _LOG2E + _ROUNDER) - _ROUNDER
    r = tc - k * _LN2_HI
    r = r - k * _LN2_LO
    p = ((((_P0 * r + _P1) * r + _P2) * r + _P3) * r + _P4) * r + _P5
    e = p * (r * r) + r + _ONE
    two_k = np.int32((np.int32(k) + np.int32(127)) << np.int32(23)).view(np.float32)
    e = e * two_k
    # t >= MIN_ARG: the value; t < MIN_ARG (or -inf): 0; NaN (neither comparison holds): NaN
    return e if t >= MIN_ARG else (_ZERO if t < MIN_ARG else t)


def exp_nonpositive_reference(t: np.ndarray) -> np.ndarray:
    """NumPy's float32 ``exp`` with the same flush to zero below ``MIN_ARG`` (the tests' oracle)."""
    t = np.asarray(t, dtype=np.float32)
    with np.errstate(under="ignore"):
        out = np.exp(t)
    return np.where(t < MIN_ARG, np.float32(0), out)
