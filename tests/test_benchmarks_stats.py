"""The statistics behind the benchmark report and ``--compare``: spread of repeats, the
Mann-Whitney U test (exact and normal approximation), Benjamini-Hochberg.  Checked against brute
force (every split of the pooled sample enumerated) rather than against stored numbers."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks import stats


def brute_force_p(x: list[float], y: list[float]) -> float:
    """Two-sided permutation p of U: every way to pick len(x) of the pooled values as 'x'."""
    pooled = np.array(x + y, dtype=float)
    ranks = stats.rankdata(pooled)
    n1 = len(x)
    u_obs = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    mean = n1 * len(y) / 2
    us = [ranks[list(c)].sum() - n1 * (n1 + 1) / 2 for c in combinations(range(len(pooled)), n1)]
    return float(np.mean([abs(u - mean) >= abs(u_obs - mean) - 1e-9 for u in us]))


small = st.lists(st.integers(0, 6).map(float), min_size=1, max_size=6)  # ties likely
distinct = st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=7, unique=True)


@settings(max_examples=60, deadline=None)
@given(small, small)
def test_exact_p_with_ties_equals_brute_force(x, y):
    res = stats.mann_whitney_u(x, y)
    assert res.method == "exact"
    assert res.p == pytest.approx(brute_force_p(x, y), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(distinct, st.data())
def test_exact_p_without_ties_equals_brute_force(values, data):
    k = data.draw(st.integers(1, max(1, len(values) - 1)))
    if len(values) < 2:
        return
    x, y = values[:k], values[k:]
    res = stats.mann_whitney_u(x, y)
    assert res.p == pytest.approx(brute_force_p(x, y), abs=1e-12)
    # U counts the pairs where x wins
    assert res.u == sum(a > b for a in x for b in y)


def test_u_distribution_counts_every_ordering():
    for n1, n2 in [(1, 1), (2, 3), (4, 4), (5, 2)]:
        freq = stats.u_distribution(n1, n2)
        assert freq.sum() == math.comb(n1 + n2, n1)
        assert np.array_equal(freq, freq[::-1])  # symmetric around n1 * n2 / 2


def test_normal_approximation_agrees_with_exact_for_large_samples():
    rng = np.random.default_rng(7)
    x = rng.standard_normal(35)
    y = rng.standard_normal(35) + 0.4
    approx = stats.mann_whitney_u(x, y)  # 70 values: past the exact limit
    assert approx.method == "normal"
    freq = stats.u_distribution(35, 35)
    us = np.arange(freq.size)
    mean = 35 * 35 / 2
    exact = freq[np.abs(us - mean) >= abs(approx.u - mean) - 1e-9].sum() / freq.sum()
    assert approx.p == pytest.approx(exact, abs=0.005)


def test_normal_approximation_with_ties_agrees_with_permutations():
    """The tie-corrected variance: many ties, a sample too large to enumerate."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 5, 40).astype(float)
    y = rng.integers(0, 6, 40).astype(float)
    res = stats.mann_whitney_u(x, y)
    assert res.method == "normal"
    pooled = np.concatenate([x, y])
    ranks = stats.rankdata(pooled)
    mean = 40 * 40 / 2
    d_obs = abs(ranks[:40].sum() - 40 * 41 / 2 - mean)
    perm = np.array([rng.permutation(ranks)[:40].sum() - 40 * 41 / 2 for _ in range(20_000)])
    mc = float(np.mean(np.abs(perm - mean) >= d_obs - 1e-9))
    assert res.p == pytest.approx(mc, abs=0.01)


def test_identical_samples_give_p_one_and_separated_ones_a_small_p():
    assert stats.mann_whitney_u([1.0] * 5, [1.0] * 5).p == 1.0
    assert stats.mann_whitney_u([1.0] * 50, [1.0] * 50).p == 1.0  # normal path, zero variance
    far = stats.mann_whitney_u(np.arange(10.0), np.arange(10.0) + 100)
    assert far.p == pytest.approx(2 / math.comb(20, 10))


def test_mann_whitney_refuses_empty_or_nan_samples():
    with pytest.raises(ValueError, match="non-empty"):
        stats.mann_whitney_u([], [1.0])
    with pytest.raises(ValueError, match="finite"):
        stats.mann_whitney_u([1.0, float("nan")], [1.0])


def test_smallest_p_says_when_no_change_can_be_significant():
    assert stats.smallest_p(3, 3) == pytest.approx(0.1)
    assert stats.smallest_p(5, 5) < 0.05
    # and it is what the test gives for the most extreme data
    assert stats.mann_whitney_u([1, 2, 3], [4, 5, 6]).p == pytest.approx(stats.smallest_p(3, 3))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_benjamini_hochberg_q_values(ps):
    qs = stats.benjamini_hochberg(ps)
    assert all(q >= p - 1e-12 and q <= 1 for p, q in zip(ps, qs))
    order = np.argsort(ps, kind="stable")
    sorted_q = np.asarray(qs)[order]
    assert np.all(np.diff(sorted_q) >= -1e-12)  # a smaller p never gets a larger q


def test_summarize_and_ratio_spread():
    s = stats.summarize([4.0, 1.0, 3.0, 2.0, float("nan")])
    assert (s.median, s.q1, s.q3, s.n) == (2.5, 1.75, 3.25, 4)
    assert s.rel_iqr == pytest.approx(1.5 / 2.5)
    with pytest.raises(ValueError):
        stats.summarize([float("nan")])
    # paired: every round says 2x however much the rounds drift
    assert stats.ratio_spread([2.0, 20.0, 200.0], [1.0, 10.0, 100.0], paired=True) == (2.0, 2.0)
    q1, q3 = stats.ratio_spread([2.0, 20.0, 200.0], [1.0, 10.0, 100.0], paired=False)
    assert q1 < 2.0 < q3  # unpaired, the drift shows as spread
    assert stats.ratio_spread([], [1.0], paired=False) is None
    # seeded: the same data, the same quartiles
    data = ([1.0, 1.3, 0.8, 1.1], [2.0, 2.1, 1.7, 2.4])
    assert stats.ratio_spread(*data, paired=False) == stats.ratio_spread(*data, paired=False)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0.5, 2.0), min_size=1, max_size=9),
    st.lists(st.floats(0.5, 2.0), min_size=1, max_size=9),
    st.booleans(),
)
def test_ratio_spread_brackets_what_resampling_can_give(a, b, paired):
    """The quartiles lie between the smallest and largest ratio of medians any resample can
    give: min(a) / max(b) and max(a) / min(b)."""
    q1, q3 = stats.ratio_spread(a, b, paired)
    assert min(a) / max(b) - 1e-12 <= q1 <= q3 <= max(a) / min(b) + 1e-12


def test_the_docstring_examples_hold():
    import doctest

    from benchmarks import schema

    for module in (stats, schema):
        failed, _ = doctest.testmod(module)
        assert failed == 0, module.__name__
