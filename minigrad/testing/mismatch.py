"""Where two arrays disagree, told the way a person debugging a gradient needs it.

``gradcheck`` and ``assert_matches_torch`` both compare an array that was computed (analytic
gradient, minigrad's result) with one that is trusted (finite differences, PyTorch) under the
tolerance ``|actual - expected| <= atol + rtol * |expected|``.  When that fails, "arrays not
equal" helps nobody: what helps is how many entries are off out of how many, and the worst one
(its index, both values, the absolute and relative error, and the tolerance at that entry).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Mismatch", "find_mismatch", "fmt"]


def fmt(x: float) -> str:
    """A float as a person reads it: ``0.5``, ``1e-05``, ``nan`` (never ``np.float64(0.5)``)."""
    return repr(float(x))


def _err(x: float) -> str:
    return f"{float(x):.3g}"


@dataclass(frozen=True)
class Mismatch:
    """The entries of ``actual`` that are not within tolerance of ``expected``.

    ``count`` of ``total`` entries differ; the worst (largest error relative to its tolerance)
    is at ``index`` with values ``actual_value`` and ``expected_value``.
    """

    count: int
    total: int
    index: tuple[int, ...]
    actual_value: float
    expected_value: float
    atol: float
    rtol: float

    @property
    def abs_error(self) -> float:
        return abs(self.actual_value - self.expected_value)

    @property
    def rel_error(self) -> float:
        """``abs_error / |expected|``; inf where the expected value is 0 and the actual is not."""
        if self.abs_error == 0:
            return 0.0
        scale = abs(self.expected_value)
        return self.abs_error / scale if scale else float("inf")

    @property
    def allowed(self) -> float:
        """The tolerance at the worst entry: ``atol + rtol * |expected|``."""
        return self.atol + self.rtol * abs(self.expected_value)

    def describe(self, actual_name: str, expected_name: str) -> str:
        """``analytic 0.5, numeric 1.0 (abs error 0.5, rel error 0.5; allowed 0.0001 = ...)``."""
        return (
            f"{actual_name} {fmt(self.actual_value)}, {expected_name} {fmt(self.expected_value)} "
            f"(abs error {_err(self.abs_error)}, rel error {_err(self.rel_error)}; allowed "
            f"atol + rtol * |{expected_name}| = {_err(self.allowed)} with atol={self.atol:g}, "
            f"rtol={self.rtol:g})"
        )


def find_mismatch(
    actual: np.ndarray, expected: np.ndarray, atol: float, rtol: float
) -> Mismatch | None:
    """``None`` if every entry of ``actual`` is within tolerance of ``expected``, else a report.

    NaN equals NaN and inf equals inf of the same sign (an op that correctly returns NaN is not
    wrong); a NaN or inf on one side only is the worst kind of mismatch.
    """
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        raise ValueError(f"cannot compare shape {a.shape} with shape {e.shape}")
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a - e)
        allowed = atol + rtol * np.abs(e)
        # how far out of tolerance each entry is; the worst one is reported
        badness = np.where(allowed > 0, diff / np.where(allowed > 0, allowed, 1), np.inf * diff)
    same = (a == e) | (np.isnan(a) & np.isnan(e))
    badness = np.where(same, 0.0, badness)
    badness = np.where(np.isnan(badness), np.inf, badness)  # NaN (or inf) on one side only
    off = badness > 1
    count = int(off.sum())
    if count == 0:
        return None
    flat = int(np.argmax(badness))
    index = tuple(int(i) for i in np.unravel_index(flat, a.shape)) if a.ndim else ()
    return Mismatch(
        count=count,
        total=int(a.size),
        index=index,
        actual_value=float(a.reshape(-1)[flat]),
        expected_value=float(e.reshape(-1)[flat]),
        atol=atol,
        rtol=rtol,
    )
