"""Hypothesis strategies for tensors and shapes, bounded for gradient checks.

The defaults are chosen for finite-difference checks: small shapes (every element gets checked)
and values whose magnitude is at least 0.1, so that no element sits on a kink such as relu(0) or
abs(0), where the derivative jumps and a central difference straddles the jump.

>>> from hypothesis import given
>>> @given(tensors(shape=shapes(max_dims=2)))
... def test_double_neg(x):
...     assert ((-(-x)).data == x.data).all()
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad.tensor import Tensor


def safe_floats(
    min_magnitude: float = 0.1, max_magnitude: float = 3.0, positive: bool = False
) -> st.SearchStrategy[float]:
    """Floats with ``min_magnitude <= |x| <= max_magnitude`` (positive only if asked)."""
    mags = st.floats(min_magnitude, max_magnitude, allow_nan=False, allow_infinity=False)
    if positive:
        return mags
    return st.tuples(mags, st.booleans()).map(lambda p: -p[0] if p[1] else p[0])


def shapes(
    min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4
) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes, small by default (a gradcheck touches every element)."""
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def broadcastable_shapes(
    num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3, max_side: int = 4
) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """``num_shapes`` shapes that broadcast together (size-1 and missing leading dims)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, max_side=max_side
    ).map(lambda r: r.input_shapes)


def matmul_shapes(max_batch_dims: int = 2, max_side: int = 4) -> st.SearchStrategy[Any]:
    """Pairs of shapes valid for ``a @ b``: vectors, matrices, and broadcast batches."""
    return hnp.mutually_broadcastable_shapes(
        signature="(m?,n),(n,p?)->(m?,p?)", max_dims=max_batch_dims, max_side=max_side
    ).map(lambda r: r.input_shapes)


@st.composite
def tensors(
    draw: st.DrawFn,
    shape: Any = None,
    dtype: Any = np.float64,
    elements: st.SearchStrategy[Any] | None = None,
    requires_grad: bool = True,
    unique: bool = False,
    contiguous: bool | None = None,
) -> Tensor:
    """A Tensor of ``shape`` (a tuple or a strategy; default ``shapes()``).

    ``elements`` defaults to ``safe_floats()`` for float dtypes.  ``unique=True`` draws distinct
    values (for max/min, where ties are kinks); with the default elements they are multiples of
    0.01, so at least 0.01 apart: merely distinct values such as 0.1 and 0.1 + 1e-9 would put a
    tie inside a finite difference's step.  ``contiguous=False`` always, and ``None``
    sometimes, returns a non-contiguous view, as real code produces: a transposed array when at
    least two dimensions exceed 1, else every other element of a longer array.  (An array of
    one element is always contiguous.)
    """
    if shape is None:
        shape = shapes()
    if isinstance(shape, st.SearchStrategy):
        shape = draw(shape)
    shape = tuple(shape)
    dtype = np.dtype(dtype)
    if elements is None:
        if dtype.kind == "f":
            elements = safe_floats().map(lambda v: round(v, 2)) if unique else safe_floats()
        else:
            elements = hnp.from_dtype(dtype)
    make_strided = False
    if contiguous is not True and math.prod(shape) > 1:
        make_strided = True if contiguous is False else draw(st.booleans())
    # Transposing makes a non-contiguous view only if two dimensions exceed 1: (1, 3).T is
    # still contiguous, and a 1-D array has nothing to transpose.  Then take a strided slice.
    transpose = make_strided and sum(n > 1 for n in shape) >= 2
    if transpose:
        base_shape = tuple(reversed(shape))
    elif make_strided:
        base_shape = (*shape[:-1], 2 * shape[-1])
    else:
        base_shape = shape
    arr = draw(hnp.arrays(dtype, base_shape, elements=elements, unique=unique))
    if transpose:
        arr = arr.transpose()  # same values, Fortran order: a non-contiguous view
    elif make_strided:
        arr = arr[..., ::2]  # every other element along the last axis: a strided view
    t = Tensor._wrap(arr)
    if requires_grad and dtype.kind == "f":
        t.requires_grad_(True)
    return t
