"""Elementwise special functions NumPy lacks, compiled with numba: ``erf``, and the exact GELU.

NumPy has no ``erf`` ufunc (SciPy does; minigrad does not depend on SciPy), and
``np.vectorize(math.erf)`` calls Python once per element. Here the same libm ``erf`` runs in a
compiled loop (the cost of the exact GELU it serves: ``benchmarks/bench_tinygpt.py``).

    >>> erf(np.array([0.0, 1.0, -np.inf]))
    array([ 0.        ,  0.84270079, -1.        ])

The exact GELU ``y = a Φ(a)`` (Φ the standard normal CDF) and its backward
``g (Φ(a) + a φ(a))`` have float32 kernels of their own (:func:`gelu_erf_forward`,
:func:`gelu_erf_backward`): one pass each, and no libm call, because a scalar ``erff`` per
element is most of the GELU's time and does not vectorise.  They write Φ through the
complementary error function, ``Φ(a) = erfc(-a/√2) / 2`` (= ``1 - erfc(z)/2`` for a > 0, with
``z = |a|/√2``): no cancellation in either tail::

    erfc(z) = t exp(-z² + P(t)),   t = 1 / (1 + z/2),   z >= 0

``P`` is a degree-10 polynomial fitted here (least squares on 200,001 points of z in
[0, 13/√2] against ``math.erfc`` in float64, in a variable shifted and scaled onto [-1, 1]):
its relative error is under 5e-8 in float64.  Evaluated in float32 the relative error of
Φ(a) grows like ``1e-7 (4 + a²)`` in the left tail (the float32 ``a²/2`` in the exponent
rounds by half an ulp; torch's float32 GELU inherits the same from its input), and it is
under 2e-7 absolute for a > 0 (``tests/kernels/test_elementwise.py`` holds it to that against
``math.erfc`` over [-13, 13]).  Below Φ ~ 1e-38 (a < ~ -13) it flushes to 0.  The exponential
is ``fast_exp.exp_nonpositive_f32``.  float64 runs the references (libm ``erf``).

Out of scope: the ops (``minigrad.ops``); ``d erf(x)/dx = 2/√π · exp(-x²)``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from minigrad.validate import check_float_array

from .fast_exp import exp_nonpositive_f32

__all__ = [
    "erf",
    "erf_reference",
    "gelu_erf_backward",
    "gelu_erf_backward_reference",
    "gelu_erf_forward",
    "gelu_erf_forward_reference",
]

#: P of erfc(z) = t exp(-z^2 + P(s)), in s = (t - T_MID) / T_HALF (t in [0.179, 1] for |a| <= 13
#: maps onto [-1, 1], where the coefficients are small: no cancellation in float32), lowest first
_ERFC_P = tuple(
    np.float32(c)
    for c in (
        -0.5503618066266823, 0.5625065007851416, 0.014053444896724734, -0.02826353454960617,
        -0.0007352510788438891, 0.0034246774275662195, -0.00030086162762065356,
        -0.0004708979126851393, 0.00012087967752508544, 4.6292463966933364e-05,
        -1.9427703155169685e-05,
    )
)  # fmt: skip
_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10 = _ERFC_P
_T_MID = np.float32(0.5893464367133555)
_INV_T_HALF = np.float32(1 / 0.4106535632866445)
_INV_SQRT2 = np.float32(1 / math.sqrt(2.0))
_INV_SQRT_2PI = np.float32(1 / math.sqrt(2 * math.pi))
_HALF = np.float32(0.5)
_ONE = np.float32(1.0)
#: a kernel call covers at most this many elements, so that Ctrl-C is seen between calls
CALL_ELEMENTS = 1 << 22


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


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _normal_cdf_f32(a: np.float32) -> np.float32:
    """Φ(a) in float32: ``erfc(|a|/√2)/2`` below 0, ``1 - erfc(|a|/√2)/2`` above."""
    z = abs(a) * _INV_SQRT2
    t = _ONE / (_ONE + _HALF * z)
    u = (t - _T_MID) * _INV_T_HALF
    p = ((((((((((_C10 * u + _C9) * u + _C8) * u + _C7) * u + _C6) * u + _C5) * u + _C4) * u
              + _C3) * u + _C2) * u + _C1) * u + _C0)  # fmt: skip
    # z^2 as a^2 / 2: one rounding (the 1/sqrt 2 of z would add its own, and Phi(a) is
    # sensitive to it: d log Phi / d log a ~ a^2 in the left tail)
    half_erfc = _HALF * t * exp_nonpositive_f32(p - _HALF * (a * a))
    return half_erfc if a < 0 else _ONE - half_erfc


def _flat_pair(name: str, a: np.ndarray) -> np.ndarray:
    check_float_array(name, a)
    return np.ascontiguousarray(a).reshape(-1)


def gelu_erf_forward(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(y, cdf)``: the exact GELU ``y = a Φ(a)`` and ``cdf = Φ(a)`` (kept for the backward).

    float32: one compiled pass; float64: :func:`gelu_erf_forward_reference`.  New arrays of
    ``a``'s shape and dtype.
    """
    flat = _flat_pair("a", a)
    if flat.dtype != np.float32:
        return gelu_erf_forward_reference(a)
    y, cdf = np.empty_like(flat), np.empty_like(flat)
    with np.errstate(all="ignore"):  # NUMBA_DISABLE_JIT: numpy scalars warn on inf/NaN
        for s in range(0, flat.shape[0], CALL_ELEMENTS):
            e = s + CALL_ELEMENTS
            gelu_erf_forward_kernel(flat[s:e], y[s:e], cdf[s:e])
    return y.reshape(a.shape), cdf.reshape(a.shape)


@njit(cache=True, nogil=True, error_model="numpy")
def gelu_erf_forward_kernel(a, y, cdf):
    for i in range(a.shape[0]):
        c = _normal_cdf_f32(a[i])
        cdf[i] = c
        y[i] = a[i] * c


def gelu_erf_forward_reference(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NumPy and libm ``erf``: ``cdf = (1 + erf(a / √2)) / 2``, ``y = a cdf``."""
    a = np.asarray(a)
    cdf = np.asarray(0.5 * (1 + erf(np.asarray(a * (1 / math.sqrt(2.0))))))
    return np.asarray(a * cdf), cdf  # asarray: numpy gives scalars for 0-d products


def gelu_erf_backward(a: np.ndarray, cdf: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``g (Φ(a) + a φ(a))``, the GELU's backward, with ``cdf = Φ(a)`` from the forward and
    ``φ(a) = exp(-a²/2) / √(2π)``.  All three of one shape and dtype; a new array."""
    fa, fc, fg = _flat_pair("a", a), _flat_pair("cdf", cdf), _flat_pair("g", g)
    if not (a.shape == cdf.shape == g.shape) or not (fa.dtype == fc.dtype == fg.dtype):
        raise ValueError(
            f"gelu_erf_backward: a {a.shape} {a.dtype}, cdf {cdf.shape} {cdf.dtype} and "
            f"g {g.shape} {g.dtype} must have one shape and dtype"
        )
    if fa.dtype != np.float32:
        return gelu_erf_backward_reference(a, cdf, g)
    out = np.empty_like(fa)
    with np.errstate(all="ignore"):
        for s in range(0, fa.shape[0], CALL_ELEMENTS):
            e = s + CALL_ELEMENTS
            gelu_erf_backward_kernel(fa[s:e], fc[s:e], fg[s:e], out[s:e])
    return out.reshape(a.shape)


@njit(cache=True, nogil=True, error_model="numpy")
def gelu_erf_backward_kernel(a, cdf, g, out):
    for i in range(a.shape[0]):
        x = a[i]
        pdf = exp_nonpositive_f32(-_HALF * x * x) * _INV_SQRT_2PI
        out[i] = g[i] * (cdf[i] + x * pdf)


def gelu_erf_backward_reference(a: np.ndarray, cdf: np.ndarray, g: np.ndarray) -> np.ndarray:
    """NumPy: ``g * (cdf + a * exp(-a²/2) / √(2π))``."""
    pdf = np.exp(-0.5 * a * a) * (1 / math.sqrt(2 * math.pi))
    return np.asarray(g * (cdf + a * pdf))
