"""Nearest-neighbour class agreement by cosine similarity."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad.metrics import (
    chance_agreement,
    cosine_similarity_matrix,
    nearest_neighbours,
    neighbour_agreement,
)


def test_clustered_vectors_agree_and_random_ones_score_near_chance():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(8, 16)) * 5
    labels = [f"c{i}" for i in range(8) for _ in range(8)]
    clustered = np.repeat(centres, 8, axis=0) + rng.normal(size=(64, 16))
    assert neighbour_agreement(clustered, labels) == 1.0
    assert chance_agreement(labels) == pytest.approx(7 / 63)
    scores = [neighbour_agreement(rng.normal(size=(64, 16)), labels) for _ in range(20)]
    assert abs(np.mean(scores) - 7 / 63) < 0.05


def test_cosine_ignores_length_and_zero_rows_have_no_direction():
    s = cosine_similarity_matrix(np.array([[1.0, 0.0], [5.0, 0.0], [0.0, 0.0]]))
    assert s[0, 1] == pytest.approx(1.0) and s[0, 2] == 0.0 and s[2, 2] == 0.0


def test_nearest_neighbours_sorted_by_similarity_without_self():
    v = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]])
    out = nearest_neighbours(v, 0, k=3)
    assert [i for i, _ in out] == [1, 2, 3]
    assert out[0][1] > out[1][1] > out[2][1] == pytest.approx(-1.0)
    with pytest.raises(IndexError, match="9"):
        nearest_neighbours(v, 9)


def test_mismatched_labels_are_rejected():
    with pytest.raises(ValueError, match="2 labels"):
        neighbour_agreement(np.zeros((3, 2)), ["a", "b"])
