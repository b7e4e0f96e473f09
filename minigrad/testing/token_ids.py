"""Token ids that look like real ones, for tests and benchmarks of the embedding kernels.

Real token ids are far from uniform: a few ids (spaces, "the", punctuation) make up a large share
of any text, and the frequency of the k-th most common id falls roughly like ``1 / k^a``. A
kernel that is fast on uniform ids can still be slow on such data (one hot row takes ~18% of all
updates at a = 1.2), so the kernels are tested and timed on both.
"""

from __future__ import annotations

import numpy as np

__all__ = ["zipf_ids"]


def zipf_ids(
    rng: np.random.Generator, shape: int | tuple[int, ...], num_rows: int, a: float = 1.2
) -> np.ndarray:
    """Zipf(a) ids in ``0..num_rows-1`` of the given shape, id 0 the most frequent, int64.

    Draws past the vocabulary are drawn again, not clipped: clipping would pile all of the tail's
    mass onto row ``num_rows - 1`` (at a = 1.2: ~22% of all draws for V = 1e3, ~10% for 5e4).
    """
    ids = rng.zipf(a, size=shape) - 1
    bad = ids >= num_rows
    while bad.any():
        ids[bad] = rng.zipf(a, size=int(bad.sum())) - 1
        bad = ids >= num_rows
    return ids.astype(np.int64)
