"""``Dropout``: during training, zero each element with probability p and scale the rest by 1/(1-p).

The scaling keeps the expected value of every element unchanged, so at evaluation time, when
dropout does nothing, the next layer sees inputs of the same size as it did in training.
Masks are drawn from minigrad's one random generator, so ``minigrad.manual_seed(n)`` makes a
training run reproducible.  (The masks are not PyTorch's: the two libraries' generators differ.)
"""

from __future__ import annotations

import numpy as np

from minigrad.autograd import Function
from minigrad.creation import generator
from minigrad.nn.module import Module
from minigrad.tensor import Tensor


def _check_p(p: float) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    return float(p)


def dropout_mask(shape: tuple[int, ...], p: float, dtype: np.dtype) -> np.ndarray:
    """``keep / (1 - p)`` with ``keep ~ Bernoulli(1 - p)``: the multiplier dropout applies."""
    if p >= 1.0:
        return np.zeros(shape, dtype)
    keep = generator().random(shape, dtype=np.float32) >= p
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))


class DropoutFn(Function):
    """``y = x * mask``; backward ``dL/dx = dL/dy * mask`` (the same mask, not a new draw)."""

    def forward(self, x, mask=None):
        self.mask = mask
        return x * mask

    def backward(self, grad):
        return grad * self.mask


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Functional dropout, as ``torch.nn.functional.dropout``; identity when not training."""
    p = _check_p(p)
    if not training or p == 0.0:
        return x
    return DropoutFn.apply(x, mask=dropout_mask(x.shape, p, x.dtype))


class Dropout(Module):
    """Zero elements with probability ``p`` in ``train()`` mode; do nothing in ``eval()`` mode.

    >>> d = Dropout(0.5).eval()
    >>> d(Tensor(np.ones(3))).data
    array([1., 1., 1.])
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = _check_p(p)

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
