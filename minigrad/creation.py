"""Ways to make tensors: from data, filled with constants, random, ranges.

Random tensors come from one module-level ``numpy.random.Generator``; ``manual_seed(n)``
resets it, so a seeded script is reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.ops.shape import Cat, Stack
from minigrad.tensor import Tensor, as_dtype
from minigrad.tensor_math import shape_args

_rng = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the generator behind ``randn``/``rand``/``randint`` and layer initialisers."""
    global _rng
    _rng = np.random.default_rng(seed)
    return _rng


def generator() -> np.random.Generator:
    """The current random generator (what ``manual_seed`` resets)."""
    return _rng


def _float_dtype(dtype: Any) -> np.dtype:
    d = as_dtype(dtype) or np.dtype(np.float32)
    return d


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """A new tensor holding a copy of ``data`` (floats become float32, ints int64)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (no copy, dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects an ndarray, got {type(array).__name__}")
    return Tensor._wrap(array)


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor._wrap(np.zeros(shape_args(shape), _float_dtype(dtype))).requires_grad_(
        requires_grad
    )


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor._wrap(np.ones(shape_args(shape), _float_dtype(dtype))).requires_grad_(
        requires_grad
    )


def full(
    shape: Sequence[int], fill_value: float, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    return Tensor._wrap(np.full(tuple(shape), fill_value, _float_dtype(dtype))).requires_grad_(
        requires_grad
    )


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor._wrap(np.zeros(t.shape, as_dtype(dtype) or t.dtype)).requires_grad_(requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor._wrap(np.ones(t.shape, as_dtype(dtype) or t.dtype)).requires_grad_(requires_grad)


def randn(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    data = _rng.standard_normal(shape_args(shape), dtype=np.float64).astype(_float_dtype(dtype))
    return Tensor._wrap(data).requires_grad_(requires_grad)


def rand(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    data = _rng.random(shape_args(shape), dtype=np.float64).astype(_float_dtype(dtype))
    return Tensor._wrap(data).requires_grad_(requires_grad)


def randint(low: int, high: int, size: Sequence[int]) -> Tensor:
    """Uniform integers in [low, high), int64."""
    return Tensor._wrap(_rng.integers(low, high, size=tuple(size), dtype=np.int64))


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None) -> Tensor:
    """``arange(5)`` = [0, 1, 2, 3, 4]; integers give int64, floats float32."""
    if end is None:
        start, end = 0, start
    d = as_dtype(dtype)
    if d is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        d = np.dtype(np.int64 if is_int else np.float32)
    return Tensor._wrap(np.arange(start, end, step, dtype=d))


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension; backward cuts the gradient into pieces."""
    return Cat.apply(*tensors, dim=dim)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along a new dimension."""
    return Stack.apply(*tensors, dim=dim)
