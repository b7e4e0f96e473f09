"""Initialisers: fill a parameter in place with the values a layer starts from.

Names and defaults follow ``torch.nn.init``.  All of them draw from minigrad's one random
generator (``minigrad.manual_seed`` resets it), in float64, then cast to the parameter's dtype,
so a seeded float32 and float64 model start from the same numbers (up to rounding).

Why initialisation matters, in one line: a Linear layer's output variance is ``in_features x
Var(w) x Var(x)``, so ``w ~ U(-1/sqrt(in), 1/sqrt(in))`` (variance ``1/(3 in)``) keeps activations
from growing or shrinking layer after layer.
"""

from __future__ import annotations

import math

import numpy as np

from minigrad.creation import generator
from minigrad.tensor import Tensor


def _fill(tensor: Tensor, values: np.ndarray) -> Tensor:
    np.copyto(tensor.data, values, casting="unsafe")
    tensor._version[0] += 1  # an in-place change, like every Tensor.xxx_ method
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with samples of U(a, b).  ``uniform_(w, -0.1, 0.1)``."""
    if not b >= a:
        raise ValueError(f"uniform_ needs a <= b, got a={a}, b={b}")
    return _fill(tensor, generator().uniform(a, b, size=tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with samples of N(mean, std^2).  ``normal_(w)`` gives N(0, 1) (Embedding's init)."""
    if std < 0:
        raise ValueError(f"normal_ needs std >= 0, got {std}")
    return _fill(tensor, mean + std * generator().standard_normal(tensor.shape))


def constant_(tensor: Tensor, value: float) -> Tensor:
    """Fill with ``value``."""
    tensor.data.fill(value)
    tensor._version[0] += 1
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight: for Linear's (out, in) weight that is (in, out)."""
    if tensor.ndim < 2:
        raise ValueError(
            f"fan in and fan out need a weight with at least 2 dimensions, got shape {tensor.shape}"
        )
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def kaiming_uniform_(tensor: Tensor, a: float = 0.0) -> Tensor:
    """U(-bound, bound) with ``bound = sqrt(6 / ((1 + a^2) fan_in))`` (leaky-ReLU gain, fan_in).

    PyTorch's Linear uses ``a = sqrt(5)``, which makes the bound exactly ``1 / sqrt(fan_in)``.
    """
    fan_in, _ = calculate_fan_in_and_fan_out(tensor)
    if fan_in == 0:
        return tensor
    bound = math.sqrt(6.0 / ((1.0 + a * a) * fan_in))
    return uniform_(tensor, -bound, bound)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """U(-bound, bound) with ``bound = gain * sqrt(6 / (fan_in + fan_out))`` (Glorot)."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)
