"""Row softmaxes for the model's hot paths: the head's softmax-cross-entropy, causal attention.

Both are "per row: max, exp of the shifted row, sum, scale" on rows short enough to stay in the
L1 cache (a row of 4,096 float32 logits is 16 KiB, an attention row 64 scores).  NumPy runs
each of those steps as a pass over the whole (N, C) array, with a temporary for most of them;
once the array outgrows the caches every pass is a trip to memory.  Here one compiled loop per
row does them all while the row is in cache, and the array is read and written once.

The exponential is ``fast_exp.exp_nonpositive_f32`` (within 2 ulp of NumPy's float32 ``exp``;
results below 1.2e-38 become 0), plain arithmetic that LLVM vectorises, where a libm ``exp``
call would not be: the kernels are compiled for float32.  float64 arrays (gradient checks,
users who ask for them) take the plain-NumPy references below, which are also what the tests
compare the kernels against.

* :func:`softmax_xent_rows_`: logits in, loss per row out, and the logits overwritten with
  ``(softmax - one_hot(target)) * row_weight``, the gradient of the weighted loss
  (``ops.loss.LinearCrossEntropy``, chunk by chunk).
* :func:`causal_softmax_` and :func:`causal_softmax_backward_`: the attention weights of
  (..., T, T) scores under a causal mask, and their backward ``P * (dP - rowsum(dP * P))``
  (``ops.attention.CausalAttention``).  Entries above the diagonal are never read: the forward
  writes them as exact zeros, as the ``-inf`` mask would give.

Out of scope: the matmuls around them, reductions over rows, label smoothing and class weights
(``kernels.cross_entropy`` and ``nn.functional``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from minigrad.validate import check_c_contiguous_writeable, check_ids_in_range

from .fast_exp import exp_nonpositive_f32

__all__ = [
    "causal_softmax_",
    "causal_softmax_backward_",
    "causal_softmax_backward_reference",
    "causal_softmax_reference",
    "softmax_xent_rows_",
    "softmax_xent_rows_reference",
]

#: a kernel call covers at most this many elements, so that Ctrl-C is seen between calls
CALL_ELEMENTS = 1 << 22


def _check_float(name: str, a: object, ndim: int | None = None) -> None:
    """A floating-point ndarray (float16 too: only float32 is compiled, the rest runs the
    reference), of ``ndim`` dimensions when given."""
    if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
        raise TypeError(
            f"{name} must be a floating-point numpy.ndarray, got {type(a).__name__} "
            f"{getattr(a, 'dtype', '')}"
        )
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")


@njit(cache=True, nogil=True, fastmath={"reassoc", "nsz"})
def _sum_of_row(x: np.ndarray, n: int) -> float:
    """``sum(x[:n])`` accumulated in float64.  ``reassoc`` lets LLVM keep partial sums in SIMD
    lanes (a single running sum is a chain of dependent adds); a function of its own, so the
    flag touches nothing else (the exponential's range reduction must not be reassociated).
    NaN and inf still propagate (no ``nnan``/``ninf``)."""
    acc = 0.0
    for j in range(n):
        acc += x[j]
    return acc


@njit(cache=True, nogil=True, fastmath={"reassoc", "nsz"})
def _dot_of_rows(x: np.ndarray, y: np.ndarray, n: int) -> np.float32:
    """``sum(x[:n] * y[:n])`` in x's precision, partial sums in SIMD lanes (as above)."""
    acc = x.dtype.type(0)
    for j in range(n):
        acc += x[j] * y[j]
    return acc


@njit(cache=True, nogil=True, inline="always")  # inlined: rows of the causal mask are short
def _max_of_row(x: np.ndarray, n: int) -> np.float32:
    """``max(x[:n])`` with eight running maxima (one serial compare-and-select chain is slow).
    A NaN in the row may or may not be picked; either way it reaches the result's users, as
    ``exp(NaN - m)`` is NaN."""
    stop = n - n % 8
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = np.float32(-np.inf)
    for j in range(0, stop, 8):
        a0, a1, a2, a3 = max(a0, x[j]), max(a1, x[j + 1]), max(a2, x[j + 2]), max(a3, x[j + 3])
        a4, a5, a6, a7 = max(a4, x[j + 4]), max(a5, x[j + 5]), max(a6, x[j + 6]), max(a7, x[j + 7])
    m = max(max(max(a0, a1), max(a2, a3)), max(max(a4, a5), max(a6, a7)))
    for j in range(stop, n):
        m = max(m, x[j])
    return m


# ----------------------------------------------------------------------- the head's cross-entropy
def softmax_xent_rows_(
    z: np.ndarray,
    target: np.ndarray,
    valid: np.ndarray,
    row_weight: np.ndarray | None,
    loss: np.ndarray,
) -> None:
    """Per row i of logits ``z`` (N, C): ``loss[i] = logsumexp(z_i) - z_i[t_i]``, and, when
    ``row_weight`` is given, ``z_i`` overwritten by ``(softmax(z_i) - one_hot(t_i)) * w_i``.

    ``target`` (N,) int64 in ``0..C-1`` (put any class for an ignored row), ``valid`` (N,) bool:
    an invalid row gets loss 0 and gradient 0.  ``z`` must be C-contiguous and writable; ``loss``
    (N,) of z's dtype is written.  Raises before anything is written.
    """
    _check_float("z", z, ndim=2)
    check_c_contiguous_writeable("z", z)
    n, c = z.shape
    if target.dtype != np.int64 or target.shape != (n,):
        raise ValueError(f"target must be int64 of shape ({n},), got {target.dtype} {target.shape}")
    if valid.dtype != np.bool_ or valid.shape != (n,):
        raise ValueError(f"valid must be bool of shape ({n},), got {valid.dtype} {valid.shape}")
    if loss.dtype != z.dtype or loss.shape != (n,):
        raise ValueError(f"loss must be {z.dtype} of shape ({n},), got {loss.dtype} {loss.shape}")
    if row_weight is not None and (row_weight.dtype != z.dtype or row_weight.shape != (n,)):
        raise ValueError(
            f"row_weight must be {z.dtype} of shape ({n},), got {row_weight.dtype} "
            f"{row_weight.shape}"
        )
    check_ids_in_range(target, c, "target class", f"{c} classes")
    if z.dtype != np.float32 or c == 0:
        softmax_xent_rows_reference(z, target, valid, row_weight, loss)
        return
    grads = row_weight is not None
    w = row_weight if grads else np.zeros(n, np.float32)
    step = max(1, CALL_ELEMENTS // c)
    with np.errstate(all="ignore"):  # NaN/inf rows are meant (NUMBA_DISABLE_JIT runs numpy)
        for s in range(0, n, step):
            e = s + step
            softmax_xent_rows_kernel(z[s:e], target[s:e], valid[s:e], w[s:e], loss[s:e], grads)


@njit(cache=True, nogil=True, error_model="numpy")
def softmax_xent_rows_kernel(z, target, valid, w, loss, grads):
    """The fused rows (float32, checked by :func:`softmax_xent_rows_`): per row, the max, one
    pass writing ``exp(z - max)`` and summing it (in float64), then one pass scaling by
    ``w / sum`` and subtracting ``w`` at the target."""
    n, c = z.shape
    for i in range(n):
        row = z[i]
        if not valid[i]:
            loss[i] = 0
            if grads:
                row[:] = 0
            continue
        t = target[i]
        m = _max_of_row(row, c)
        zt = row[t] - m
        for j in range(c):
            row[j] = exp_nonpositive_f32(row[j] - m)
        acc = _sum_of_row(row, c)
        loss[i] = np.float32(math.log(acc) - zt)
        if grads:
            scale = np.float32(w[i] / acc)
            for j in range(c):
                row[j] *= scale
            row[t] -= w[i]


def softmax_xent_rows_reference(z, target, valid, row_weight, loss) -> None:
    """The same in NumPy passes over the whole array (the float64 path and the tests' oracle)."""
    rows = np.arange(z.shape[0])
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        z -= z.max(axis=1, keepdims=True)  # stable: exp of numbers <= 0
        z_t = z[rows, target]
        np.exp(z, out=z)
        total = z.sum(axis=1)
        loss[:] = np.log(total) - z_t  # logsumexp(z) - z_t, both shifted by the max
        loss[~valid] = 0
        if row_weight is None:
            return
        z /= total[:, None]  # softmax
        z[rows, target] -= 1  # softmax - one_hot(target)
        z *= row_weight[:, None]
        z[~valid] = 0  # ignored rows: no gradient, even from NaN logits


# ----------------------------------------------------------------------- causal attention
def _check_scores(name: str, s: np.ndarray) -> None:
    _check_float(name, s)
    check_c_contiguous_writeable(name, s)
    if s.ndim < 2 or s.shape[-1] != s.shape[-2]:
        raise ValueError(f"{name} must have shape (..., T, T), got {s.shape}")


def _square_rows(s: np.ndarray) -> np.ndarray:
    """(..., T, T) as (M, T, T) (a view: s is C-contiguous)."""
    t = s.shape[-1]
    return s.reshape(-1, t, t)


def causal_softmax_(s: np.ndarray, scale: float) -> np.ndarray:
    """``P = softmax(scale * S + mask)`` over the last axis of (..., T, T) scores, in place.

    The mask is causal: row i sees columns ``0..i``; the others come out as exact zeros and are
    never read (so they may hold anything, e.g. whatever the matmul wrote there).  ``scale > 0``
    (the attention's ``1 / sqrt(head_dim)``), so the row max of ``S`` is that of ``scale * S``.
    Returns ``s``.
    """
    _check_scores("scores", s)
    scale = float(scale)
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    if s.dtype != np.float32 or s.size == 0:
        return causal_softmax_reference(s, scale)
    s3 = _square_rows(s)
    step = max(1, CALL_ELEMENTS // (s3.shape[1] * s3.shape[2]))
    for a in range(0, s3.shape[0], step):
        causal_softmax_kernel(s3[a : a + step], np.float32(scale))
    return s


@njit(cache=True, nogil=True, error_model="numpy")
def causal_softmax_kernel(s, scale):
    """Per row i of each (T, T) block: the max of its first i + 1 entries, one pass writing and
    summing ``exp(scale * (s - max))``, one pass multiplying by ``1 / sum``, zeros after i."""
    t = s.shape[1]
    for b in range(s.shape[0]):
        for i in range(t):
            row = s[b, i]
            m = _max_of_row(row, i + 1)
            for j in range(i + 1):
                row[j] = exp_nonpositive_f32((row[j] - m) * scale)
            inv = np.float32(1.0 / _sum_of_row(row, i + 1))
            for j in range(i + 1):
                row[j] *= inv
            for j in range(i + 1, t):
                row[j] = 0


def causal_softmax_reference(s: np.ndarray, scale: float) -> np.ndarray:
    """The same with NumPy passes: scale, add the ``-inf`` mask, stable softmax (in place)."""
    t = s.shape[-1]
    s *= s.dtype.type(scale)
    s += np.triu(np.full((t, t), -np.inf, dtype=s.dtype), k=1)
    s -= s.max(axis=-1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(axis=-1, keepdims=True)
    return s


def causal_softmax_backward_(dp: np.ndarray, p: np.ndarray, scale: float) -> np.ndarray:
    """``dS = scale * P * (dP - rowsum(dP * P))``, written into ``dp``; returns ``dp``.

    The backward of :func:`causal_softmax_` (softmax's Jacobian ``P_i (delta_ij - P_j)`` applied
    to the row of dL/dP, times the scale the scores were multiplied by).  Only row i's first
    i + 1 entries are read; the others, where P is 0, become 0.
    """
    _check_scores("dp", dp)
    _check_float("p", p)
    if p.shape != dp.shape or p.dtype != dp.dtype:
        raise ValueError(f"p and dp must match: {p.shape} {p.dtype} vs {dp.shape} {dp.dtype}")
    if dp.dtype != np.float32 or dp.size == 0 or not p.flags.c_contiguous:
        return causal_softmax_backward_reference(dp, p, scale)
    d3, p3 = _square_rows(dp), _square_rows(p)
    step = max(1, CALL_ELEMENTS // (d3.shape[1] * d3.shape[2]))
    for a in range(0, d3.shape[0], step):
        causal_softmax_backward_kernel(d3[a : a + step], p3[a : a + step], np.float32(scale))
    return dp


@njit(cache=True, nogil=True, error_model="numpy")
def causal_softmax_backward_kernel(dp, p, scale):
    """Per row i: ``r = sum_{j<=i} dp_j p_j``, then ``dp_j = scale * p_j * (dp_j - r)``."""
    t = dp.shape[1]
    for b in range(dp.shape[0]):
        for i in range(t):
            drow, prow = dp[b, i], p[b, i]
            r = _dot_of_rows(drow, prow, i + 1)
            for j in range(i + 1):
                drow[j] = scale * (prow[j] * (drow[j] - r))
            for j in range(i + 1, t):
                drow[j] = 0


def causal_softmax_backward_reference(dp: np.ndarray, p: np.ndarray, scale: float) -> np.ndarray:
    """The same with NumPy passes (the masked entries: P = 0 there, so dS = 0)."""
    rowdot = np.einsum("...ij,...ij->...i", dp, p)[..., None]
    dp -= rowdot
    dp *= p
    dp *= dp.dtype.type(scale)
    return dp
