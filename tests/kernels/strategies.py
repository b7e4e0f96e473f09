"""Hypothesis strategies for the kernel tests: ids with repeats, float rows, odd layouts.

Shapes stay small (a kernel bug shows up at n = 3 as well as at n = 3e6) so that a test costs
milliseconds; large inputs get their own, few, deterministic tests.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from minigrad.testing.token_ids import zipf_ids  # noqa: F401 (the tests import it from here)

FLOAT_DTYPES = st.sampled_from([np.float32, np.float64])


@st.composite
def ids(draw: st.DrawFn, num_rows: int, max_n: int = 40, ndim: int | None = None) -> np.ndarray:
    """int64 ids in ``0..num_rows-1`` of a small shape, with repeats.

    Half of the time the ids are Zipf-like (id k drawn with weight ~ 1/(k+1)^1.2, so a few ids
    repeat a lot, as token ids do), the other half uniform. Empty arrays (n = 0) are included.
    """
    if ndim is None:
        ndim = draw(st.integers(1, 2))
    if ndim == 1:
        shape = (draw(st.integers(0, max_n)),)
    else:
        shape = (draw(st.integers(0, 6)), draw(st.integers(0, max(max_n // 6, 1))))
    n = int(np.prod(shape))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if draw(st.booleans()):
        w = 1.0 / np.arange(1, num_rows + 1) ** 1.2
        out = rng.choice(num_rows, size=n, p=w / w.sum())
    else:
        out = rng.integers(0, num_rows, size=n)
    return out.astype(np.int64).reshape(shape)


@st.composite
def float_rows(draw: st.DrawFn, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """Random floats of ``shape``; sometimes returned as a non-contiguous view."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    layout = draw(st.sampled_from(["c", "fortran", "strided"]))
    if layout == "strided" and len(shape) >= 1:
        big = rng.standard_normal((*shape[:-1], 2 * shape[-1])).astype(dtype)
        return big[..., ::2]
    a = rng.standard_normal(shape).astype(dtype)
    return np.asfortranarray(a) if layout == "fortran" else a
