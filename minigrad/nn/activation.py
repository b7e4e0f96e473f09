"""Activation modules: ``GELU``, ``ReLU``, ``Tanh``, wrappers that let them sit in a ``Sequential``.

They hold no weights; each calls one elementwise op from ``minigrad/ops/elementwise.py``, where
the forward and the gradient of each are written side by side (exact GELU uses the compiled
``erf`` of ``minigrad.kernels.elementwise``).
"""

from __future__ import annotations

from minigrad.nn import functional as F
from minigrad.nn.module import Module
from minigrad.tensor import Tensor


class GELU(Module):
    """``x * Phi(x)``: a smooth ReLU that lets a little negative signal through (GPT's choice).

    >>> import numpy as np
    >>> GELU()(Tensor(np.array([-1.0, 0.0, 1.0]))).data.round(4)
    array([-0.1587,  0.    ,  0.8413])
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class ReLU(Module):
    """``max(x, 0)``; the gradient is 1 where x > 0, else 0."""

    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


class Tanh(Module):
    """``tanh(x)``; the gradient is ``1 - tanh(x)^2``."""

    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()
