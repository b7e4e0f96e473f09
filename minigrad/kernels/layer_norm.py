"""LayerNorm over rows, forward and backward, each one compiled pass per row (float32).

The formulas (derived in ``minigrad/ops/normalization.py``), for a row x of D numbers::

    forward:   mu = mean(x),  var = mean((x - mu)^2),  r = 1 / sqrt(var + eps)
               xhat = (x - mu) r,  y = weight * xhat + bias
    backward:  gh = g * weight
               dx = r (gh - mean(gh) - xhat mean(gh xhat))
               dweight = sum over rows of g xhat,  dbias = sum over rows of g

NumPy runs each line as a pass over the whole (N, D) array, most with a temporary; a transformer
row (D = 128: 512 bytes) fits the L1 cache many times over, so here each row is read once, its
sums taken, and its outputs written while it is still there.  Row statistics accumulate in
float64 (the NumPy reference sums pairwise in float32), the column sums of the backward too.
float64 arrays take the NumPy references below, which the tests compare the kernels against.

Out of scope: the autograd op, and its double backward (``ops.normalization.NormalizeRows``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from minigrad.validate import check_float_array

__all__ = [
    "layer_norm_backward",
    "layer_norm_backward_reference",
    "layer_norm_forward",
    "layer_norm_forward_reference",
]

#: a kernel call covers at most this many elements, so that Ctrl-C is seen between calls
CALL_ELEMENTS = 1 << 22


def _affine_or_default(name: str, a: np.ndarray | None, n: int, dtype, fill: float) -> np.ndarray:
    if a is None:
        return np.full(n, fill, dtype=dtype)
    check_float_array(name, a)
    if a.shape != (n,) or a.dtype != dtype:
        raise ValueError(
            f"{name} must be {np.dtype(dtype)} of shape ({n},), got {a.dtype} {a.shape}"
        )
    return np.ascontiguousarray(a)


def _same_dtype(x: np.ndarray, *others: np.ndarray | None) -> bool:
    """Whether every given array has x's dtype (mixed precision runs the numpy reference)."""
    return all(o is None or getattr(o, "dtype", None) == x.dtype for o in others)


def layer_norm_forward(
    x2: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None, eps: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(y, xhat, rstd)`` for rows ``x2`` (N, D): y and xhat (N, D), rstd (N, 1) = r.

    ``weight``/``bias`` (D,) of x2's dtype, or None (1 and 0).  New arrays.
    """
    check_float_array("x", x2, ndim=2)
    n, d = x2.shape
    if x2.dtype != np.float32 or d == 0 or not _same_dtype(x2, weight, bias):
        return layer_norm_forward_reference(x2, weight, bias, eps)
    w = _affine_or_default("weight", weight, d, x2.dtype, 1.0)
    b = _affine_or_default("bias", bias, d, x2.dtype, 0.0)
    x = np.ascontiguousarray(x2)
    y, xhat, rstd = np.empty_like(x), np.empty_like(x), np.empty((n, 1), x.dtype)
    step = max(1, CALL_ELEMENTS // d)
    for s in range(0, n, step):
        e = s + step
        layer_norm_forward_kernel(x[s:e], w, b, float(eps), y[s:e], xhat[s:e], rstd[s:e, 0])
    return y, xhat, rstd


# The row sums are functions of their own with ``reassoc`` (partial sums in SIMD lanes; a single
# running sum is a chain of dependent adds): the flag stays on them.  NaN and inf propagate.
@njit(cache=True, nogil=True, fastmath={"reassoc", "nsz"})
def _row_sum(x: np.ndarray) -> float:
    acc = 0.0
    for j in range(x.shape[0]):
        acc += x[j]
    return acc


@njit(cache=True, nogil=True, fastmath={"reassoc", "nsz"})
def _row_sq_dev(x: np.ndarray, mu: float) -> float:
    acc = 0.0
    for j in range(x.shape[0]):
        c = x[j] - mu
        acc += c * c
    return acc


@njit(cache=True, nogil=True, fastmath={"reassoc", "nsz"})
def _row_dots(g: np.ndarray, w: np.ndarray, xhat: np.ndarray) -> tuple[float, float]:
    """``(sum(g w), sum(g w xhat))``."""
    a = 0.0
    b = 0.0
    for j in range(g.shape[0]):
        h = g[j] * w[j]
        a += h
        b += h * xhat[j]
    return a, b


@njit(cache=True, nogil=True, error_model="numpy")
def layer_norm_forward_kernel(x, w, b, eps, y, xhat, rstd):
    n, d = x.shape
    for i in range(n):
        row = x[i]
        mu = _row_sum(row) / d
        r = 1.0 / math.sqrt(_row_sq_dev(row, mu) / d + eps)
        mu32, r32 = np.float32(mu), np.float32(r)
        rstd[i] = r32
        for j in range(d):
            h = (row[j] - mu32) * r32
            xhat[i, j] = h
            y[i, j] = h * w[j] + b[j]


def layer_norm_forward_reference(x2, weight, bias, eps):
    """NumPy passes: mean, centred, variance (one einsum), r, xhat, then weight and bias."""
    n = x2.shape[1]
    mu = x2.mean(axis=1, keepdims=True)
    xc = x2 - mu
    var = np.einsum("ij,ij->i", xc, xc)[:, None] / n  # one pass, no (N, D) square temporary
    rstd = 1.0 / np.sqrt(var + eps)
    xhat = xc
    xhat *= rstd  # in place: xc is not needed any more
    out = xhat * weight if weight is not None else xhat.copy()
    if bias is not None:
        out += bias
    return out, xhat, rstd


def layer_norm_backward(
    g2: np.ndarray, xhat: np.ndarray, rstd: np.ndarray, weight: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dx, dweight, dbias)`` from the upstream rows ``g2`` (N, D) and the forward's xhat,
    rstd (N, 1) and weight (or None).  New arrays."""
    check_float_array("grad", g2, ndim=2)
    check_float_array("xhat", xhat, ndim=2)
    n, d = g2.shape
    if xhat.shape != (n, d) or rstd.shape != (n, 1) or not g2.dtype == xhat.dtype == rstd.dtype:
        raise ValueError(
            f"layer_norm_backward: grad {g2.shape} {g2.dtype}, xhat {xhat.shape} {xhat.dtype} "
            f"and rstd {rstd.shape} {rstd.dtype} do not fit"
        )
    if g2.dtype != np.float32 or d == 0 or n == 0 or not _same_dtype(g2, weight):
        return layer_norm_backward_reference(g2, xhat, rstd, weight)
    w = _affine_or_default("weight", weight, d, g2.dtype, 1.0)
    g, xh, r = np.ascontiguousarray(g2), np.ascontiguousarray(xhat), np.ascontiguousarray(rstd)
    gx = np.empty_like(g)
    gw, gb = np.zeros(d), np.zeros(d)  # float64 column sums
    step = max(1, CALL_ELEMENTS // d)
    for s in range(0, n, step):
        e = s + step
        layer_norm_backward_kernel(g[s:e], xh[s:e], r[s:e, 0], w, gx[s:e], gw, gb)
    return gx, gw.astype(g.dtype), gb.astype(g.dtype)


@njit(cache=True, nogil=True, error_model="numpy")
def layer_norm_backward_kernel(g, xhat, rstd, w, gx, gw, gb):
    n, d = g.shape
    for i in range(n):
        acc_h, acc_hx = _row_dots(g[i], w, xhat[i])
        mean_h = np.float32(acc_h / d)
        mean_hx = np.float32(acc_hx / d)
        r = rstd[i]
        for j in range(d):
            gj, xj = g[i, j], xhat[i, j]
            gx[i, j] = r * (gj * w[j] - mean_h - xj * mean_hx)
            gw[j] += gj * xj
            gb[j] += gj


def layer_norm_backward_reference(g2, xhat, rstd, weight):
    """NumPy passes, one formula of the module docstring each."""
    n = xhat.shape[1]
    gh = g2 * weight if weight is not None else g2
    mean_gh = gh.mean(axis=1, keepdims=True)
    mean_ghx = np.einsum("ij,ij->i", gh, xhat)[:, None] / n
    gx = gh - mean_gh
    gx -= xhat * mean_ghx
    gx *= rstd
    gw = np.einsum("ij,ij->j", g2, xhat)  # dL/dweight = sum over rows of g * xhat
    gb = g2.sum(axis=0)  # dL/dbias = sum over rows of g
    return gx, gw, gb
