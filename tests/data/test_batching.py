"""Context windows and batches for next-token training."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad.data import Batches, context_windows, split_ids


def test_windows_pair_each_context_with_the_next_id():
    x, y = context_windows(np.array([5, 8, 2, 9, 4]), context=2)
    assert x.tolist() == [[5, 8], [8, 2], [2, 9]]
    assert y.tolist() == [2, 9, 4]
    assert x.dtype == np.int64


@pytest.mark.parametrize(
    ("ids", "context", "error", "match"),
    [
        (np.arange(3), 3, ValueError, "more than context=3"),
        (np.arange(6).reshape(2, 3), 1, ValueError, r"shape \(2, 3\)"),
        (np.ones(5), 1, TypeError, "float64"),
        (np.arange(5), 0, ValueError, "got 0"),
    ],
)
def test_bad_input_is_rejected_with_the_value(ids, context, error, match):
    with pytest.raises(error, match=match):
        context_windows(ids, context)


def test_batches_are_seeded_and_consistent():
    a, b = Batches(np.arange(100), 3, 8, seed=4), Batches(np.arange(100), 3, 8, seed=4)
    for _ in range(3):
        xa, ya = a.sample()
        xb, yb = b.sample()
        assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
        assert np.array_equal(xa[:, -1] + 1, ya)
    seq = list(Batches(np.arange(20), 3, 8).sequential())
    assert [len(y) for _, y in seq] == [8, 8, 1]


def test_split_keeps_the_tail_for_held_out():
    train, held = split_ids(np.arange(100), held_out=0.1)
    assert train.tolist() == list(range(90)) and held.tolist() == list(range(90, 100))
    with pytest.raises(ValueError, match=r"1\.5"):
        split_ids(np.arange(10), held_out=1.5)
