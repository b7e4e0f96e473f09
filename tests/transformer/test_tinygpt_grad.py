"""TinyGPT's gradients by finite differences (no torch needed), tied and sparse included."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad.models.tinygpt import TinyGPT
from minigrad.testing import gradcheck


@pytest.mark.parametrize(("tie", "sparse"), [(False, True), (True, True), (True, False)])
def test_tiny_model_gradcheck(tie, sparse):
    """A tied table gets lookup rows (row-sparse) + head (dense); their sum must be exact."""
    mg.manual_seed(0)
    m = TinyGPT(5, 3, 4, 2, 1, tie_weights=tie, sparse_embeddings=sparse)
    for p in m.parameters():
        p.data = p.data.astype(np.float64)
    rng = np.random.default_rng(0)
    ids, targets = rng.integers(0, 5, (2, 3)), rng.integers(0, 5, (2, 3))
    ids[0, :2] = 1  # a repeated id: its rows must be summed, not overwritten

    def fn(*_):
        return m.loss(ids, targets)

    assert gradcheck(fn, *m.parameters(), atol=1e-6, rtol=1e-5)
