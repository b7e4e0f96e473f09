"""The statistics a benchmark report needs, in plain numpy: spread of repeats, and whether two
sets of repeats differ by more than their noise.

* :func:`summarize` -- median, quartiles, interquartile range (IQR) and count of a sample.
  Quartiles are numpy's default (linear interpolation between order statistics), so with 3
  repeats Q1 is halfway between the smallest and the middle value.
* :func:`ratio_spread` -- how much a ratio of two medians would move on a rerun: the quartiles
  of the ratio over bootstrap resamples of the repeats (rounds resampled together when the two
  were timed interleaved in the same rounds: pairing cancels drift that hit both).
* :func:`mann_whitney_u` -- the Mann-Whitney U test (two-sided): do values of one sample tend to
  be larger than those of the other?  It uses ranks only, so one descheduled repeat (a 3x outlier
  on a busy machine) moves it no more than any other large value.  Exact p-values for small
  samples (the U distribution counted by a recurrence when there are no ties; every split of the
  pooled ranks enumerated when there are), else the normal approximation with tie and continuity
  corrections.
* :func:`benjamini_hochberg` -- q-values for many tests at once (a run has hundreds of rows: at
  p < 0.05 one row in twenty would "change" by chance alone).

What it leaves out: confidence intervals for medians and any parametric model of timings
(timings are skewed, with a floor and a long right tail: rank methods suit them).

    >>> round(mann_whitney_u([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]).p, 3)   # every x below every y
    0.1
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

import numpy as np

#: exact U distribution (no ties) up to this many values in both samples together
EXACT_MAX_N = 60
#: exact enumeration with ties up to this many splits of the pooled sample
EXACT_MAX_SPLITS = 50_000


@dataclass(frozen=True)
class Summary:
    """Median, quartiles and count of one sample of repeats."""

    median: float
    q1: float
    q3: float
    n: int

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def rel_iqr(self) -> float:
        """IQR as a fraction of the median (``nan`` when the median is 0)."""
        return self.iqr / self.median if self.median else float("nan")


def summarize(values: Sequence[float]) -> Summary:
    """Median, Q1, Q3 and n of ``values`` (at least one finite value).

    >>> s = summarize([1.0, 2.0, 3.0, 10.0])
    >>> s.median, s.q1, s.q3, s.n
    (2.5, 1.75, 4.75, 4)
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise ValueError(f"summarize needs at least one finite value, got {list(values)!r}")
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    return Summary(float(med), float(q1), float(q3), int(x.size))


def ratio_spread(
    num: Sequence[float], den: Sequence[float], paired: bool, resamples: int = 2000
) -> tuple[float, float] | None:
    """Q1 and Q3 of ``median(num) / median(den)`` over bootstrap resamples; ``None`` when a side
    is empty.

    Each resample draws the repeats again with replacement and recomputes the ratio of medians,
    so the quartiles say how far the reported ratio could move with other repeats of the same
    kind.  ``paired``: ``num[i]`` and ``den[i]`` were timed in the same interleaved round (one
    ``harness.compare`` call), so rounds are drawn as wholes; otherwise each side is drawn on its
    own.  The generator is seeded: the same data always gives the same quartiles.

    >>> ratio_spread([2.0, 4.0, 6.0], [1.0, 2.0, 3.0], paired=True)   # every round says 2x
    (2.0, 2.0)
    """
    a = np.asarray(num, dtype=float)
    b = np.asarray(den, dtype=float)
    if a.size == 0 or b.size == 0:
        return None
    rng = np.random.default_rng(0)
    if paired and a.size == b.size:
        idx = rng.integers(0, a.size, (resamples, a.size))
        r = np.median(a[idx], axis=1) / np.median(b[idx], axis=1)
    else:
        ia = rng.integers(0, a.size, (resamples, a.size))
        ib = rng.integers(0, b.size, (resamples, b.size))
        r = np.median(a[ia], axis=1) / np.median(b[ib], axis=1)
    r = r[np.isfinite(r)]
    if r.size == 0:
        return None
    q1, q3 = np.percentile(r, [25, 75])
    return float(q1), float(q3)


# ---- Mann-Whitney U ---------------------------------------------------------------------------
@dataclass(frozen=True)
class MannWhitney:
    """``u``: U of the first sample (pairs ``(x_i, y_j)`` with ``x_i > y_j``, ties count half);
    ``p``: two-sided p-value; ``method``: "exact" or "normal"."""

    u: float
    p: float
    method: str


def rankdata(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties given the mean of the ranks they span ("mid-ranks").

    >>> rankdata(np.array([10.0, 20.0, 10.0, 30.0])).tolist()
    [1.5, 3.0, 1.5, 4.0]
    """
    order = np.argsort(values, kind="mergesort")
    sorted_v = values[order]
    ranks = np.empty(values.size, dtype=float)
    i = 0
    while i < values.size:
        j = i
        while j + 1 < values.size and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1  # ranks i+1 .. j+1, averaged
        i = j + 1
    return ranks


@lru_cache(maxsize=64)  # a run compares hundreds of rows of a few sample sizes
def u_distribution(n1: int, n2: int) -> np.ndarray:
    """Number of arrangements giving each U = 0 .. n1*n2 (no ties), as exact integers.

    Recurrence on the largest of all n1 + n2 values: it belongs to the first sample (it then
    beats all n2 values of the second: U grows by n2) or to the second (U unchanged), so
    ``c(i, j, u) = c(i - 1, j, u - j) + c(i, j - 1, u)``.

    >>> u_distribution(2, 2).tolist()   # the 6 orderings of two x's and two y's
    [1, 1, 2, 1, 1]
    """
    # exact integers: int64 while the total C(n1 + n2, n1) fits, Python ints past that
    dtype = np.int64 if math.comb(n1 + n2, n1) < 2**62 else object
    # row[j] holds the distribution for (i, j) while i runs up to n1
    rows = [np.zeros(n1 * n2 + 1, dtype=dtype) for _ in range(n2 + 1)]
    for j in range(n2 + 1):
        rows[j][0] = 1  # i = 0: U is 0 in exactly one way
    for _i in range(1, n1 + 1):
        prev = rows
        rows = [prev[0].copy()]  # j = 0: U is 0 in exactly one way
        for j in range(1, n2 + 1):
            cur = rows[j - 1].copy()
            cur[j:] += prev[j][: cur.size - j]
            rows.append(cur)
    out = rows[n2]
    out.flags.writeable = False  # shared through the cache
    return out


def mann_whitney_u(x: Sequence[float], y: Sequence[float]) -> MannWhitney:
    """Two-sided Mann-Whitney U test of ``x`` against ``y`` (each at least one value).

    p is the probability, if ``x`` and ``y`` came from one distribution, of a U at least as far
    from its mean ``n1 * n2 / 2`` as the one observed.
    """
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    if a.size == 0 or b.size == 0:
        raise ValueError(f"mann_whitney_u needs two non-empty samples, got {a.size} and {b.size}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("mann_whitney_u needs finite values (NaN or inf in a sample)")
    n1, n2 = a.size, b.size
    n = n1 + n2
    ranks = rankdata(np.concatenate([a, b]))
    u = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    mean = n1 * n2 / 2
    dist = abs(u - mean)
    _, counts = np.unique(ranks, return_counts=True)
    ties = bool(np.any(counts > 1))
    if not ties and n <= EXACT_MAX_N:
        freq = u_distribution(n1, n2)
        us = np.arange(freq.size)
        extreme = np.abs(us - mean) >= dist - 1e-9
        p = float(freq[extreme].sum() / freq.sum())
        return MannWhitney(u, min(1.0, p), "exact")
    if ties and math.comb(n, n1) <= EXACT_MAX_SPLITS:
        idx = np.array(list(combinations(range(n), n1)), dtype=np.int64)
        us = ranks[idx].sum(axis=1) - n1 * (n1 + 1) / 2
        p = float(np.mean(np.abs(us - mean) >= dist - 1e-9))
        return MannWhitney(u, min(1.0, p), "exact")
    # normal approximation; ties shrink the variance of U by sum(t^3 - t) over tie groups
    tie_term = float(np.sum(counts.astype(float) ** 3 - counts)) / (n * (n - 1))
    var = n1 * n2 / 12 * ((n + 1) - tie_term)
    if var <= 0:  # every value equal: no evidence of any difference
        return MannWhitney(u, 1.0, "normal")
    z = max(dist - 0.5, 0.0) / math.sqrt(var)
    return MannWhitney(u, min(1.0, math.erfc(z / math.sqrt(2))), "normal")


def smallest_p(n1: int, n2: int) -> float:
    """The smallest two-sided p-value any data can give with samples of these sizes (no ties).

    With 3 repeats against 3 it is 2 / C(6, 3) = 0.1: such samples can never show a change at
    p < 0.05, however large.

    >>> smallest_p(3, 3)
    0.1
    """
    if n1 < 1 or n2 < 1:
        return 1.0
    return min(1.0, 2 / math.comb(n1 + n2, n1))


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg q-values: calling every test with ``q < alpha`` a discovery keeps the
    expected share of false discoveries among them at most ``alpha``.

    >>> [round(q, 3) for q in benjamini_hochberg([0.01, 0.04, 0.03, 0.5])]
    [0.04, 0.053, 0.053, 0.5]
    """
    p = np.asarray(pvalues, dtype=float)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(q_sorted, 1.0)
    return q.tolist()
