"""``LayerNorm``: normalise each row to mean 0 and variance 1, then scale and shift.

For one row ``x`` of D numbers (the last ``len(normalized_shape)`` dimensions, flattened)::

    y = weight * (x - mean(x)) / sqrt(var(x) + eps) + bias      # var biased, as PyTorch

The module owns ``weight`` and ``bias`` and calls ``nn.functional.layer_norm``; the fused op
and its backward are ``minigrad.ops.normalization.NormalizeRows``.

Deliberately left out: ``bias=False`` (PyTorch 2.1+), RMSNorm, and normalising over dimensions
other than the last ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.nn import functional as F
from minigrad.nn.module import Module, Parameter
from minigrad.tensor import Tensor, as_dtype


class LayerNorm(Module):
    """Normalise the last dimensions of the input, as ``torch.nn.LayerNorm``.

    >>> ln = LayerNorm(4)
    >>> ln(Tensor(np.arange(8.0).reshape(2, 4))).data.mean(axis=-1)   # rows have mean ~0
    array([0., 0.])

    ``weight`` starts at ones and ``bias`` at zeros, so a fresh LayerNorm only normalises.
    State dict keys: ``weight``, ``bias`` (shape ``normalized_shape``), as in PyTorch.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (int(normalized_shape),)
        shape = tuple(int(s) for s in normalized_shape)
        if not shape or any(s < 1 for s in shape):
            raise ValueError(
                f"LayerNorm normalized_shape must be one or more positive sizes, got "
                f"{normalized_shape!r}"
            )
        if not eps > 0:
            raise ValueError(f"LayerNorm eps must be positive, got {eps}")
        self.normalized_shape = shape
        self.eps = float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        dt = as_dtype(dtype)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(shape, dt))
            self.bias = Parameter(np.zeros(shape, dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )
