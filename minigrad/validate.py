"""Input checks, each rule once: integer ids, ids in range, float arrays, writable layouts.

Used by every layer that takes ids or arrays from a user: the public kernel wrappers
(``minigrad.kernels``), the functional wrappers (``minigrad.nn.functional``: embedding ids,
one-hot ids, cross-entropy targets), the optimizers and the data helpers.  numba does no bounds
checks: a bad row id handed to a compiled loop is a silent write into someone else's memory (or a
segfault), so ids are checked here before any kernel runs.  Each check raises the exception a
NumPy/PyTorch user expects (``TypeError`` for a wrong dtype, ``ValueError`` for a wrong shape or
layout, ``IndexError`` for an id out of range) and names both the offending value and the
expected one.

Nothing here is compiled and nothing imports the rest of minigrad: the checks are a handful of
vectorised NumPy reductions (``min``/``max``), O(n) in the number of ids and never O(vocabulary
size).
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


def positive_int(value: object, name: str) -> int:
    """``value`` as an ``int`` if it is a whole number >= 1 (a Python or NumPy integer), else
    ``ValueError`` naming ``name``; ``True`` is not a size.

    >>> positive_int(3, "batch_size")
    3
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def check_integer_ids(name: str, ids: np.ndarray) -> None:
    """Raise ``TypeError`` unless ``ids`` has a signed or unsigned integer dtype.

    bool and float ids are rejected, because ``1.0`` or ``True`` as a row id is almost always a
    bug (the embeddings passed where the ids were meant, or a mask instead of indices).
    """
    if ids.dtype.kind not in "iu":
        raise TypeError(
            f"{name} must be integers (int64 or int32), got dtype {ids.dtype}; "
            "float ids are almost always a bug (the embeddings passed instead of the ids?)"
        )


def integer_ids(ids: object, name: str = "ids") -> np.ndarray:
    """``ids`` (an ndarray, a list, an int) as an integer ndarray, or ``TypeError``.

    An empty list gives an empty int64 array (``np.asarray([])`` would be float64).

    >>> integer_ids([3, 1]).dtype
    dtype('int64')
    """
    if isinstance(ids, (list, tuple)) and len(ids) == 0:
        return np.zeros(0, dtype=np.int64)
    arr = np.asarray(ids)
    check_integer_ids(name, arr)
    return arr


def as_index_array(name: str, index: object) -> np.ndarray:
    """Return ``index`` as a C-contiguous int64 ndarray (same shape), or raise ``TypeError``.

    Any signed or unsigned integer dtype is accepted (int64 is used as is, others are converted).

    >>> as_index_array("index", np.array([3, 1], np.int32)).dtype
    dtype('int64')
    """
    if not isinstance(index, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy.ndarray of integer ids, got {type(index).__name__}"
        )
    check_integer_ids(name, index)
    if index.dtype == np.uint64 and index.size and index.max() > np.iinfo(np.int64).max:
        bad = int(index.max())
        raise IndexError(f"{name} contains id {bad}, which does not fit in int64")
    return np.ascontiguousarray(index, dtype=np.int64)


def check_ids_in_range(
    ids: np.ndarray,
    num: int,
    what: str = "index id",
    bound: str | None = None,
    ignore_index: int | None = None,
) -> None:
    """Raise ``IndexError`` unless every id is in ``0..num-1`` (or equals ``ignore_index``).

    The message names the first offending id, the bound and the valid range; ``what`` names the
    id (its last word, plural, names the range) and ``bound`` the limit (default ``"{num} rows"``):

    >>> check_ids_in_range(np.array([0, 5]), 5, "embedding id", bound="num_embeddings=5")
    Traceback (most recent call last):
    IndexError: embedding id 5 is out of range for num_embeddings=5 (valid ids are 0..4)
    """
    if ids.size == 0:
        return
    lo = int(ids.min())
    hi = int(ids.max())
    if lo >= 0 and hi < num:
        return
    flat = ids.reshape(-1)
    bad_mask = (flat < 0) | (flat >= num)
    if ignore_index is not None:
        bad_mask &= flat != ignore_index
    bad_at = np.flatnonzero(bad_mask)
    if bad_at.size == 0:  # only ignore_index was out of range
        return
    bad = int(flat[bad_at[0]])
    plural = what.split()[-1] + "s"
    valid = f"0..{num - 1}" if num > 0 else "none"
    if ignore_index is not None:
        valid += f", or ignore_index={ignore_index}"
    raise IndexError(
        f"{what} {bad} is out of range for {bound or f'{num} rows'} (valid {plural} are {valid})"
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
