"""The optimizers' compiled loops: ``axpy_`` (dense SGD), dense Adam/AdamW, lazy Adam on rows.

The formulas, and why each update is what it is, are in ``minigrad/optim/sgd.py`` and
``minigrad/optim/adam.py``; here they are only made fast.  Each kernel has a plain-NumPy path
beside it (the reference the tests compare against, and the fallback for layouts the kernels are
not compiled for).  Timings: ``benchmarks/bench_embedding_step.py``.

Out of scope: optimizer state, parameter groups, hyper-parameter checks (``minigrad.optim``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from minigrad.validate import check_ids_in_range

from .prefetch import PREFETCH_AHEAD, prefetch_row

__all__ = [
    "adam_dense_",
    "adam_dense_reference",
    "axpy_",
    "lazy_adam_rows",
    "lazy_adam_rows_reference",
]

#: a dense Adam update runs over at most this many elements per kernel call (Ctrl-C between)
ADAM_CHUNK = 1 << 22


def axpy_(y: np.ndarray, alpha: float, x: np.ndarray) -> None:
    """``y += alpha * x`` in place, without numpy's temporary ``alpha * x``.

    The temporary is as large as the parameter (a 100,000 x 64 table: 25 MB), and a fresh array
    that size costs page faults on every step; the compiled loop reads x and y once.  Same
    rounding as numpy (``alpha * x`` rounded, then added).  Falls back to numpy for mixed
    dtypes or non-contiguous arrays.
    """
    if (
        y.dtype == x.dtype
        and y.dtype in (np.float32, np.float64)
        and y.shape == x.shape
        and y.flags.c_contiguous
        and x.flags.c_contiguous
    ):
        axpy_kernel(y.reshape(-1), y.dtype.type(alpha), x.reshape(-1))
    else:
        y += alpha * x


@njit(cache=True, nogil=True)
def axpy_kernel(y: np.ndarray, alpha: float, x: np.ndarray) -> None:
    """Raw loop over two flat, equally long arrays (checked by :func:`axpy_`)."""
    for i in range(y.shape[0]):
        y[i] += alpha * x[i]


def adam_dense_(
    p: np.ndarray,
    g: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    *,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    lr: float,
    decoupled: bool,
    step: int,
) -> None:
    """One dense Adam (``decoupled=False``) or AdamW step on ``p``, ``m``, ``v`` in place.

    The formulas are ``optim/adam.py``'s.  NumPy needs about ten passes over the parameter
    (each line of the reference below is one or two, with a temporary each); the kernel reads
    p, g, m, v once and writes p, m, v once, with the same operations in the same order and
    precision, so it agrees with :func:`adam_dense_reference` to a rounding or two.  Compiled
    when the four arrays are C-contiguous, of one shape and one float dtype; otherwise the
    reference runs.  ``step`` is this parameter's step count t (>= 1).
    """
    if not (p.shape == g.shape == m.shape == v.shape):
        raise ValueError(
            f"Adam: parameter {p.shape}, gradient {g.shape} and moments {m.shape}, {v.shape} "
            "must have one shape"
        )
    if int(step) < 1:
        raise ValueError(f"Adam: step count must be >= 1, got {step}")
    compiled = (
        p.dtype in (np.float32, np.float64)
        and p.dtype == g.dtype == m.dtype == v.dtype
        and p.flags.c_contiguous
        and g.flags.c_contiguous
        and m.flags.c_contiguous
        and v.flags.c_contiguous
        and p.flags.writeable
    )
    if not compiled:
        adam_dense_reference(p, g, m, v, beta1, beta2, eps, weight_decay, lr, decoupled, step)
        return
    consts = _adam_constants(p.dtype, beta1, beta2, eps, weight_decay, lr, decoupled, int(step))
    pf, gf, mf, vf = p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1)
    if pf.shape[0] <= ADAM_CHUNK:
        adam_dense_kernel(pf, gf, mf, vf, consts)
        return
    for s in range(0, pf.shape[0], ADAM_CHUNK):  # chunks: Ctrl-C is seen between them
        e = s + ADAM_CHUNK
        adam_dense_kernel(pf[s:e], gf[s:e], mf[s:e], vf[s:e], consts)


_ADAM_CONSTANTS: dict[tuple, np.ndarray] = {}


def _adam_constants(dtype, beta1, beta2, eps, wd, lr, decoupled, t) -> np.ndarray:
    """The kernel's constants in the parameter's precision (as numpy rounds them), one small
    array, so the call types 5 arguments instead of 12; made once per (hyper-parameters, step)
    and shared by every parameter of a group (the call's overhead is most of a small
    parameter's update).  Read-only, so no caller can change a cached one."""
    key = (dtype.char, beta1, beta2, eps, wd, lr, decoupled, t)
    consts = _ADAM_CONSTANTS.get(key)
    if consts is None:
        consts = np.array(
            (
                1 - beta1,
                beta2,
                1 - beta2,
                0 if decoupled else wd,
                1 - lr * wd if decoupled else 1,
                lr / (1 - beta1**t),
                math.sqrt(1 - beta2**t),
                eps,
            ),
            dtype=dtype,
        )
        consts.flags.writeable = False
        if len(_ADAM_CONSTANTS) > 64:  # a few groups, this step and the last: keep it small
            _ADAM_CONSTANTS.clear()
        _ADAM_CONSTANTS[key] = consts
    return consts


def adam_dense_reference(
    p: np.ndarray,
    g: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    b1: float,
    b2: float,
    eps: float,
    wd: float,
    lr: float,
    decoupled: bool,
    t: int,
) -> None:
    """The dense update in plain numpy, one formula of ``optim/adam.py``'s docstring a line."""
    if wd:
        if decoupled:
            p *= 1 - lr * wd
        else:
            g = g + wd * p
    m += (1 - b1) * (g - m)
    v *= b2
    v += (1 - b2) * (g * g)
    step_size = lr / (1 - b1**t)
    denom = np.sqrt(v) / math.sqrt(1 - b2**t)
    denom += eps
    p -= step_size * (m / denom)


@njit(cache=True, nogil=True, error_model="numpy")
def adam_dense_kernel(p, g, m, v, consts):
    """The reference's lines fused over flat arrays of one length (checked by the caller).

    ``consts`` = (c1, b2, c2, l2, decay, step_size, bc2, eps): ``c1 = 1 - beta1``,
    ``c2 = 1 - beta2``, ``l2`` Adam's weight decay (0 for AdamW), ``decay`` AdamW's
    ``1 - lr * wd`` (1 for Adam), ``step_size = lr / (1 - beta1^t)`` and
    ``bc2 = sqrt(1 - beta2^t)``.  error_model="numpy": no division-by-zero branch, so LLVM
    vectorises the loop.
    """
    c1, b2, c2, l2 = consts[0], consts[1], consts[2], consts[3]
    decay, step_size, bc2, eps = consts[4], consts[5], consts[6], consts[7]
    for i in range(p.shape[0]):
        w = p[i]
        if decay != 1:
            w = w * decay
        gi = g[i]
        if l2 != 0:
            gi = gi + l2 * w
        mi = m[i] + c1 * (gi - m[i])
        vi = v[i] * b2 + c2 * (gi * gi)
        m[i] = mi
        v[i] = vi
        p[i] = w - step_size * (mi / (np.sqrt(vi) / bc2 + eps))


def lazy_adam_rows(
    p: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    rows: np.ndarray,
    vals: np.ndarray,
    *,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    lr: float,
    decoupled: bool,
    step_size: float,
) -> None:
    """The lazy (SparseAdam) update of the rows ``rows`` of ``p`` and its moments ``m``, ``v``.

    ``rows`` are unique int64 row ids, ``vals`` their gradient rows; ``step_size`` is
    ``lr * sqrt(1 - beta2^t) / (1 - beta1^t)``.  Compiled when ``p``, ``m`` and ``v`` are
    C-contiguous 2-D float arrays of one dtype; otherwise :func:`lazy_adam_rows_reference`.

    Raises ``ValueError`` for values that do not fit the parameter, ``IndexError`` for a row
    outside it, before anything is written.
    """
    if rows.dtype != np.int64 or vals.shape != (rows.shape[0], *p.shape[1:]):
        raise ValueError(
            f"row-sparse gradient does not fit the parameter: indices {rows.shape} "
            f"{rows.dtype}, values {vals.shape}, parameter {p.shape}"
        )
    check_ids_in_range(rows, p.shape[0], "row-sparse gradient row", f"a parameter of {p.shape[0]}")
    compiled = (
        p.dtype in (np.float32, np.float64)
        and p.ndim == 2
        and p.flags.c_contiguous
        and m.flags.c_contiguous
        and v.flags.c_contiguous
        and m.dtype == v.dtype == p.dtype
    )
    if not compiled:
        lazy_adam_rows_reference(
            p, m, v, rows, vals, beta1, beta2, eps, weight_decay, lr, decoupled, step_size
        )
        return
    f = p.dtype.type  # every constant in the parameter's precision, as numpy would
    lazy_adam_rows_kernel(
        p,
        m,
        v,
        rows,
        np.ascontiguousarray(vals, dtype=p.dtype),
        f(1 - beta1),
        f(1 - beta2),
        f(eps),
        f(step_size),
        f(0 if decoupled else weight_decay),
        f(1 - lr * weight_decay if decoupled else 1),
    )


def lazy_adam_rows_reference(
    p: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    rows: np.ndarray,
    vals: Any,
    b1: float,
    b2: float,
    eps: float,
    wd: float,
    lr: float,
    decoupled: bool,
    step_size: float,
) -> None:
    """The same update in plain numpy: each line one formula of ``optim/adam.py``'s docstring."""
    prow = p[rows]
    if wd:
        if decoupled:
            prow *= 1 - lr * wd
        else:
            vals = vals + wd * prow
    m_old, v_old = m[rows], v[rows]
    m_new = m_old + (1 - b1) * (vals - m_old)
    v_new = v_old + (1 - b2) * (vals * vals - v_old)
    m[rows], v[rows] = m_new, v_new
    prow -= step_size * (m_new / (np.sqrt(v_new) + eps))
    p[rows] = prow


# error_model="numpy": a float division by zero gives inf/NaN as in NumPy instead of raising
# ZeroDivisionError; the check numba otherwise puts before every division stops LLVM from
# vectorising the loop.
@njit(cache=True, nogil=True, error_model="numpy")
def lazy_adam_rows_kernel(p, m, v, rows, vals, c1, c2, eps, step_size, l2, decay):
    """The same update fused: each touched row of p, m and v is read and written once.

    ``c1 = 1 - beta1``, ``c2 = 1 - beta2``; ``l2`` is Adam's weight decay (0 for AdamW),
    ``decay`` AdamW's factor ``1 - lr * wd`` (1 for Adam).  Rows must be unique and in range.
    The rows of the three tables that come ``PREFETCH_AHEAD`` rows later are requested from
    memory early (``minigrad.kernels.prefetch``): in a table much larger than the caches each
    row is a cache miss, and overlapping the misses is what makes the loop fast.
    """
    n = rows.shape[0]
    for j in range(n):
        if j + PREFETCH_AHEAD < n:
            later = rows[j + PREFETCH_AHEAD]
            prefetch_row(p, later)
            prefetch_row(m, later)
            prefetch_row(v, later)
        r = rows[j]
        for c in range(p.shape[1]):
            w = p[r, c]
            if decay != 1:
                w = w * decay
            gj = vals[j, c]
            if l2 != 0:
                gj = gj + l2 * w
            mj = m[r, c] + c1 * (gj - m[r, c])
            vj = v[r, c] + c2 * (gj * gj - v[r, c])
            m[r, c] = mj
            v[r, c] = vj
            p[r, c] = w - step_size * (mj / (np.sqrt(vj) + eps))
