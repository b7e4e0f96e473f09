"""Input checks shared by the public kernel wrappers.

numba does no bounds checks: a bad row id handed to a compiled loop is a silent write into someone
else's memory (or a segfault). So every public wrapper in ``minigrad.kernels`` runs these checks
first and only then calls a raw kernel. Each check raises the exception a NumPy/PyTorch user
expects (``TypeError`` for a wrong dtype, ``ValueError`` for a wrong shape or layout,
``IndexError`` for an id out of range) and names both the offending value and the expected one.

Nothing here is compiled: the checks are a handful of vectorised NumPy reductions (``min``/``max``),
O(n) in the number of ids and never O(vocabulary size).
"""

from __future__ import annotations

import numpy as np

#: dtypes the float kernels are compiled for
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_float_array(name: str, a: object, ndim: int | None = None) -> np.ndarray:
    """Return ``a`` if it is a float32/float64 ndarray (of ``ndim`` dims, when given), else raise.

    >>> check_float_array("src", np.zeros((2, 3), np.float32), ndim=2).shape
    (2, 3)
    """
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {a.dtype}")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape} ({a.ndim}-D)")
    return a


def check_same_dtype(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> None:
    """Raise ``TypeError`` unless ``a`` and ``b`` share a dtype (no silent up/down casts)."""
    if a.dtype != b.dtype:
        raise TypeError(
            f"{name_a} and {name_b} must have the same dtype, got {a.dtype} and {b.dtype}"
        )


def as_index_array(name: str, index: object) -> np.ndarray:
    """Return ``index`` as a C-contiguous int64 ndarray (same shape), or raise ``TypeError``.

    Any signed or unsigned integer dtype is accepted (int64 is used as is, others are converted);
    bool and float ids are rejected, because ``1.0`` or ``True`` as a row id is almost always a bug.

    >>> as_index_array("index", np.array([3, 1], np.int32)).dtype
    dtype('int64')
    """
    if not isinstance(index, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy.ndarray of integer ids, got {type(index).__name__}"
        )
    if index.dtype.kind not in "iu":
        raise TypeError(f"{name} must have an integer dtype (int64 or int32), got {index.dtype}")
    if index.dtype == np.uint64 and index.size and index.max() > np.iinfo(np.int64).max:
        bad = int(index.max())
        raise IndexError(f"{name} contains id {bad}, which does not fit in int64")
    return np.ascontiguousarray(index, dtype=np.int64)


def check_ids_in_range(name: str, ids: np.ndarray, num_rows: int, what: str = "rows") -> None:
    """Raise ``IndexError`` unless every id satisfies ``0 <= id < num_rows``.

    The message names the first offending id and the bound, e.g.
    ``index contains id 7, out of range for 5 rows (valid ids are 0..4)``.
    """
    if ids.size == 0:
        return
    lo = int(ids.min())
    hi = int(ids.max())
    if lo >= 0 and hi < num_rows:
        return
    flat = ids.reshape(-1)
    bad = int(flat[np.flatnonzero((flat < 0) | (flat >= num_rows))[0]])
    valid = f"0..{num_rows - 1}" if num_rows > 0 else "none"
    raise IndexError(
        f"{name} contains id {bad}, out of range for {num_rows} {what} (valid ids are {valid})"
    )


def check_c_contiguous_writeable(name: str, a: np.ndarray) -> None:
    """Raise ``ValueError`` unless ``a`` can be written in place by a kernel."""
    if not a.flags.c_contiguous:
        raise ValueError(
            f"{name} must be C-contiguous (it is written in place, so it cannot be copied); "
            f"got strides {a.strides} for shape {a.shape}; pass np.ascontiguousarray({name}) "
            "and read the result back from that array"
        )
    if not a.flags.writeable:
        raise ValueError(f"{name} is read-only; the kernel writes into it in place")
