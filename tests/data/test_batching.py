"""Context windows and batches for next-token training."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.data import Batches, context_windows, split_ids
from minigrad.data.batching import IGNORE_INDEX, held_out_windows


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


@pytest.mark.nojit
@given(
    st.integers(2, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n - 1))),
    st.integers(1, 80),
    st.booleans(),
)
def test_held_out_windows_score_each_token_at_most_once_and_at_most_max_tokens(
    n_and_context, max_tokens, every_position
):
    n, context = n_and_context
    ids = np.arange(100, 100 + n)  # distinct ids: a target's value says which token it is
    x, targets = held_out_windows(ids, context, max_tokens, every_position)
    scored = targets[targets != IGNORE_INDEX]
    # the tokens after the first window's start, in order, each once, none skipped
    first = 101 if every_position else 100 + context
    assert scored.tolist() == list(range(first, first + len(scored)))
    available = ((n - 1) // context) * context if every_position else n - context
    assert len(scored) == min(max_tokens, available)
    # each target is the id that follows its input position
    if every_position:
        mask = targets != IGNORE_INDEX
        np.testing.assert_array_equal(targets[mask], x[mask] + 1)
    else:
        np.testing.assert_array_equal(targets, x[:, -1] + 1)
