"""Fused cross-entropy on (N, C) logits: per-row loss forward, in-place gradient backward.

For one row of logits ``x`` (C classes) and target class ``t``::

    loss = logsumexp(x) - x[t]                    = -log softmax(x)[t]
    dloss/dx = softmax(x) - onehot(t)

With label smoothing ε the target distribution is ``q = (1-ε)·onehot(t) + ε/C``,
``loss = -Σ_j q_j log softmax(x)_j = (1-ε)(lse - x[t]) + ε(lse - mean(x))`` and the gradient is
``softmax - q``.

    >>> loss, state = cross_entropy_forward(np.array([[0.0, 0.0]]), np.array([1]))
    >>> loss                           # log 2
    array([0.69314718])
    >>> cross_entropy_backward(state, np.array([1.0]))
    array([[ 0.5, -0.5]])

How it is fused
---------------
Forward computes, per row, ``m = max(x)`` and writes ``e = exp(x - m)`` **once** into an (N, C)
buffer, then ``s = Σ e`` and ``loss = log(s) + (m - x[t])``. The buffer is kept in the returned
:class:`CrossEntropyState`; backward turns it *in place* into the gradient,
``e * (g/s) - g·ε/C`` and ``-g·(1-ε)`` at the target, where ``g`` is the upstream gradient of that
row's loss. No one-hot matrix, no second exp pass, no (N, C) temporary besides the one buffer. The
buffer comes from :mod:`.buffer_cache`, so a training loop gets last step's buffer back (once its
gradient has been used and dropped) instead of faulting in fresh memory every step.

Why compiled loops, and how the exp gets fast (the numbers are in the docstring of
``benchmarks/bench_cross_entropy.py``): NumPy's row-wise max, broadcasting subtract and pairwise
row sums are slower than short numba loops, but numba without SVML (as installed here) makes
``np.exp`` inside a compiled loop a scalar libm call, slower than NumPy's SIMD ``np.exp``. For
float32 the exponential is ``fast_exp.exp_nonpositive_f32``, plain arithmetic that vectorises,
so per block of rows (~0.5 MiB, kept in the L2 cache between the passes) numba finds the row
max, writes ``exp(x - m)`` in one pass, and sums the rows. float64 keeps NumPy's ``exp``: numba
writes ``x - m``, NumPy exponentiates it in place. The backward has no transcendental function:
one numba loop LLVM vectorises.

Threads: each thread (``numba.get_num_threads()`` of them) gets one contiguous range of rows, for
the forward and for the backward; NumPy ufuncs and ``nogil`` numba kernels release the GIL, so
plain Python threads run in parallel. Rows never cross ranges, so no two threads write the same
memory.

Numerics: ``x - m <= 0``, so ``exp`` never overflows (logits of ±1e4 are fine) and ``s >= 1``.
``loss = log(s) + (m - x[t])`` keeps full precision even when ``x[t]`` is large. A target logit of
``-inf`` gives loss ``inf``; a row that is all ``-inf`` or contains NaN or ``+inf`` gives NaN (as
PyTorch). Rows whose target is ``ignore_index`` get loss 0 and gradient 0.

Out of scope: reductions (mean over non-ignored rows, sum), class weights, (N, C, d1...) layouts:
those belong to ``minigrad.nn.functional.cross_entropy``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from minigrad.validate import (
    as_index_array,
    check_c_contiguous_writeable,
    check_float_array,
    check_ids_in_range,
)

from .buffer_cache import buffer_cache
from .fast_exp import exp_nonpositive_f32
from .pool import PARTS_PER_THREAD, num_threads, run_on_ranges

__all__ = [
    "CrossEntropyState",
    "cross_entropy_backward",
    "cross_entropy_forward",
    "cross_entropy_reference",
]

#: rows are processed in blocks of about this many bytes (two such blocks fit the 1 MiB L2)
BLOCK_BYTES = 1 << 19
#: below this many logits one thread does the whole forward (thread hand-off costs ~50 us)
PARALLEL_MIN_ELEMENTS = 1 << 18


def _run_on_row_ranges(fn, N: int, C: int, *args) -> None:
    """Call ``fn(*args, lo, hi)`` on contiguous row ranges covering 0..N-1.

    One range per thread (numba's thread count, ``numba.set_num_threads``) when the work is big
    enough to repay the hand-off, else one call in this thread. Ranges never overlap, and each
    range writes only its own rows of every output: race-free.
    """
    parts = min(num_threads() * PARTS_PER_THREAD, N) if N * C >= PARALLEL_MIN_ELEMENTS else 1
    run_on_ranges(fn, [N * p // max(parts, 1) for p in range(max(parts, 1) + 1)], *args)


@dataclass
class CrossEntropyState:
    """What :func:`cross_entropy_backward` needs, kept by :func:`cross_entropy_forward`.

    Attributes:
        exp_shifted: (N, C) ``exp(logits - rowmax)``; backward overwrites it with the gradient.
        sumexp: (N,) row sums of ``exp_shifted`` (>= 1 for finite rows).
        logsumexp: (N,) ``rowmax + log(sumexp)``, the log-partition per row.
        target: (N,) int64 class ids (ignored rows hold ``ignore_index``).
        valid: (N,) bool, ``target != ignore_index``.
        label_smoothing: ε.
        consumed: set by backward: the buffer now holds a gradient, not exponentials.
    """

    exp_shifted: np.ndarray
    sumexp: np.ndarray
    logsumexp: np.ndarray
    target: np.ndarray
    valid: np.ndarray
    label_smoothing: float
    consumed: bool = False


#: independent running maxima per row: a fixed-width inner loop LLVM turns into one SIMD register
_LANES = 16


@njit(cache=True, nogil=True)
def _row_max(x: np.ndarray, rowmax: np.ndarray) -> None:
    """Per row: ``rowmax[i] = max_j x[i, j]``.

    16 running maxima (one per SIMD lane) instead of one, so the compare-and-select chain
    vectorises (a single running max is a serial dependency, which does not). NaN is never
    selected by ``v > m``, but it still reaches the loss: ``exp(NaN - m)`` is NaN, so is the sum.
    """
    C = x.shape[1]
    stop = C - C % _LANES
    lanes = np.empty(_LANES, dtype=x.dtype)
    for i in range(x.shape[0]):
        lanes[:] = -np.inf
        for j in range(0, stop, _LANES):
            for k in range(_LANES):
                v = x[i, j + k]
                lanes[k] = v if v > lanes[k] else lanes[k]
        m = lanes[0]
        for k in range(1, _LANES):
            m = lanes[k] if lanes[k] > m else m
        for j in range(stop, C):
            m = x[i, j] if x[i, j] > m else m
        rowmax[i] = m


@njit(cache=True, nogil=True)
def _subtract_row_max(x: np.ndarray, rowmax: np.ndarray, e: np.ndarray) -> None:
    """``e[i, j] = x[i, j] - rowmax[i]`` (float64: NumPy exponentiates ``e`` in place next)."""
    for i in range(x.shape[0]):
        m = rowmax[i]
        for j in range(x.shape[1]):
            e[i, j] = x[i, j] - m


@njit(cache=True, nogil=True, error_model="numpy")
def _exp_shifted_f32(x: np.ndarray, rowmax: np.ndarray, e: np.ndarray) -> None:
    """``e[i, j] = exp(x[i, j] - rowmax[i])`` for float32, subtract and exp in one SIMD loop.

    ``fast_exp.exp_nonpositive_f32`` (within 2 ulp of ``np.exp``; results below 1.2e-38 become
    0) is plain arithmetic that LLVM vectorises, unlike a libm ``exp`` call: subtract and exp
    together beat ``np.exp`` alone, and the buffer is written once instead of twice.
    """
    for i in range(x.shape[0]):
        m = rowmax[i]
        for j in range(x.shape[1]):
            e[i, j] = exp_nonpositive_f32(x[i, j] - m)


@njit(cache=True, nogil=True, fastmath={"reassoc", "nsz"})
def _row_sums(a: np.ndarray, out: np.ndarray) -> None:
    """``out[i] = Σ_j a[i, j]``, accumulated in float64.

    ``reassoc`` lets LLVM keep several partial sums in SIMD lanes (faster than NumPy's pairwise
    sum along rows); float64 accumulation keeps float32 rows of 50,000 terms accurate. NaN and inf
    still propagate (no ``nnan``/``ninf`` flags).
    """
    for i in range(a.shape[0]):
        acc = 0.0
        for j in range(a.shape[1]):
            acc += a[i, j]
        out[i] = acc


def _forward_rows(
    logits: np.ndarray,
    buf: np.ndarray,
    rowmax: np.ndarray,
    sumexp: np.ndarray,
    rowsum: np.ndarray | None,
    lo: int,
    hi: int,
) -> None:
    """Forward for rows lo..hi-1, in cache-sized blocks; runs in a worker thread.

    Every step releases the GIL (NumPy ufunc loops, ``nogil`` numba kernels), so the workers run
    truly in parallel.
    """
    C = logits.shape[1]
    step = max(8, BLOCK_BYTES // max(1, C * logits.itemsize))
    # inf - inf and NaN make "invalid value" warnings; they are the intended NaN results
    with np.errstate(invalid="ignore", over="ignore", under="ignore", divide="ignore"):
        for a in range(lo, hi, step):
            b = min(a + step, hi)
            x = logits[a:b]
            e = buf[a:b]
            _row_max(x, rowmax[a:b])
            if e.dtype == np.float32:
                _exp_shifted_f32(x, rowmax[a:b], e)  # the one exp pass, compiled
            else:
                _subtract_row_max(x, rowmax[a:b], e)
                np.exp(e, out=e)  # the one exp pass: NumPy's SIMD exp (numba has no SVML here)
            _row_sums(e, sumexp[a:b])
            if rowsum is not None:
                _row_sums(x, rowsum[a:b])


def _check_out(out: object, logits: np.ndarray) -> np.ndarray:
    check_float_array("out", out, ndim=2)
    if out.shape != logits.shape or out.dtype != logits.dtype:
        raise ValueError(
            f"out must have the logits' shape {logits.shape} and dtype {logits.dtype}, "
            f"got {out.shape} {out.dtype}"
        )
    check_c_contiguous_writeable("out", out)
    if np.may_share_memory(out, logits):
        raise ValueError("out must not overlap logits (the loss still reads them after exp)")
    return out


def _check_target(target: object, N: int, C: int, ignore_index: int) -> np.ndarray:
    t = as_index_array("target", target)
    if t.shape != (N,):
        raise ValueError(f"target must have shape (N,) = ({N},) for logits (N, C), got {t.shape}")
    check_ids_in_range(t, C, "target", bound=f"{C} classes", ignore_index=ignore_index)
    return t


def cross_entropy_forward(
    logits: np.ndarray,
    target: np.ndarray,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    *,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, CrossEntropyState]:
    """Per-row cross-entropy loss of ``(N, C)`` logits against class ids, plus backward state.

    Args:
        logits: (N, C) float32 or float64 (any layout; read only).
        target: (N,) integer class ids in ``0..C-1``, or ``ignore_index``.
        ignore_index: target value whose rows get loss 0 and gradient 0 (PyTorch's default -100).
        label_smoothing: ε in [0, 1]; the target distribution is ``(1-ε)·onehot + ε/C``.
        out: optional (N, C) C-contiguous writeable array of the logits' dtype to use as the
            buffer (it later becomes the gradient). Must not overlap ``logits``. Without it the
            buffer comes from the shared :class:`~.buffer_cache.BufferCache`, which hands back
            an earlier buffer once nothing refers to it any more.

    Returns:
        ``loss`` (N,) with ``logits``' dtype (the caller reduces it), and a
        :class:`CrossEntropyState` for :func:`cross_entropy_backward`.

    Raises:
        TypeError: non-float logits or non-integer targets. ValueError: wrong shapes, ε outside
        [0, 1]. IndexError: a target outside ``0..C-1`` that is not ``ignore_index``.
    """
    check_float_array("logits", logits, ndim=2)
    N, C = logits.shape
    if C == 0:
        raise ValueError(f"logits must have at least one class (C >= 1), got shape {(N, C)}")
    eps = float(label_smoothing)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    t = _check_target(target, N, C, int(ignore_index))
    valid = t != ignore_index
    dtype = logits.dtype
    if out is None:
        buf = buffer_cache.empty((N, C), dtype)
    else:
        buf = _check_out(out, logits)
    rowmax = np.empty(N, dtype=dtype)
    sumexp = np.empty(N, dtype=dtype)
    rowsum = np.empty(N, dtype=dtype) if eps > 0 else None  # Σ_j x_j, for the smoothing term
    _run_on_row_ranges(_forward_rows, N, C, logits, buf, rowmax, sumexp, rowsum)
    safe_t = np.where(valid, t, 0)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        log_s = np.log(sumexp)
        lse = rowmax + log_s
        loss = log_s + (rowmax - logits[np.arange(N), safe_t])
        if rowsum is not None:
            loss = (1.0 - eps) * loss + eps * (log_s + (rowmax - rowsum / C))
    loss = np.where(valid, loss, 0).astype(dtype, copy=False)
    state = CrossEntropyState(buf, sumexp, lse, t, valid, eps)
    return loss, state


@njit(cache=True, nogil=True)
def cross_entropy_backward_kernel(
    buf: np.ndarray,
    sumexp: np.ndarray,
    target: np.ndarray,
    valid: np.ndarray,
    grad: np.ndarray,
    eps_over_c: float,
    one_minus_eps: float,
) -> None:
    """Raw kernel: rows of ``buf`` (= exp(x - m)) become ``g · (softmax - q)`` in place.

    Rows are independent; the caller hands each thread its own range of rows (race-free).
    ``eps_over_c`` and
    ``one_minus_eps`` come in the buffer's dtype, so float32 stays float32 (16 lanes per AVX-512
    instruction instead of 8).
    """
    for i in range(buf.shape[0]):
        if not valid[i]:
            buf[i, :] = 0.0
            continue
        g = grad[i]
        scale = g / sumexp[i]  # softmax_j = e_j / s
        smooth = g * eps_over_c  # the ε/C part of q, the same for every class
        for j in range(buf.shape[1]):
            buf[i, j] = buf[i, j] * scale - smooth
        buf[i, target[i]] -= g * one_minus_eps


def _backward_rows(buf, state, g, eps_over_c, one_minus_eps, lo: int, hi: int) -> None:
    cross_entropy_backward_kernel(
        buf[lo:hi],
        state.sumexp[lo:hi],
        state.target[lo:hi],
        state.valid[lo:hi],
        g[lo:hi],
        eps_over_c,
        one_minus_eps,
    )


def cross_entropy_backward(state: CrossEntropyState, grad_per_row: np.ndarray) -> np.ndarray:
    """Gradient of ``Σ_i grad_per_row[i] · loss[i]`` with respect to the logits, (N, C).

    ``grad_per_row`` is the upstream gradient of each row's loss: all ones for ``reduction="sum"``,
    ``1 / (number of non-ignored rows)`` for ``"mean"``; a scalar is broadcast. The state's buffer
    is overwritten and returned (no new (N, C) array), so backward can run once per forward: a
    second call raises ``RuntimeError``.
    """
    if not isinstance(state, CrossEntropyState):
        raise TypeError(f"state must be a CrossEntropyState, got {type(state).__name__}")
    if state.consumed:
        raise RuntimeError(
            "cross_entropy_backward was already called on this state: its buffer now holds the "
            "gradient; run cross_entropy_forward again"
        )
    buf = state.exp_shifted
    N = buf.shape[0]
    g = np.asarray(grad_per_row)
    if g.dtype.kind not in "fiu":
        raise TypeError(f"grad_per_row must be a float array or scalar, got dtype {g.dtype}")
    if g.shape not in ((), (N,)):
        raise ValueError(f"grad_per_row must have shape ({N},) or be a scalar, got {g.shape}")
    g = np.ascontiguousarray(np.broadcast_to(g, (N,)), dtype=buf.dtype)
    state.consumed = True
    eps = state.label_smoothing
    C = buf.shape[1]
    kind = buf.dtype.type
    _run_on_row_ranges(_backward_rows, N, C, buf, state, g, kind(eps / C), kind(1.0 - eps))
    return buf


def cross_entropy_reference(
    logits: np.ndarray,
    target: np.ndarray,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Plain NumPy, textbook form: ``(loss_per_row, grad of loss.sum())`` via an explicit one-hot.

    Readable rather than fast: log-softmax by ``x - logsumexp(x)``, the target distribution ``q``
    as a dense (N, C) matrix, ``loss = -Σ q log p`` and ``grad = p - q`` per valid row.
    """
    x = np.asarray(logits)
    N, C = x.shape
    t = np.asarray(target).astype(np.int64)
    valid = t != ignore_index
    with np.errstate(invalid="ignore", over="ignore", under="ignore", divide="ignore"):
        m = np.max(x, axis=1, keepdims=True)
        lse = m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True))
        logp = x - lse
        q = np.full((N, C), label_smoothing / C, dtype=x.dtype)
        q[np.arange(N)[valid], t[valid]] += 1.0 - label_smoothing
        # 0 * -inf is NaN, but a class with q = 0 contributes nothing: mask it
        loss = -np.sum(np.where(q > 0, q * logp, 0.0), axis=1)
        grad = np.exp(logp) - q
    loss = np.where(valid, loss, 0.0).astype(x.dtype)
    grad[~valid] = 0.0
    return loss, grad
