"""Loss modules: ``CrossEntropyLoss``, the module form of ``nn.functional.cross_entropy``.

As in PyTorch, a loss module only stores its arguments and calls the function; everything
about the loss (targets, weights, reductions, label smoothing) is explained there.

Deliberately left out: buffers.  PyTorch registers ``weight`` as a buffer, so it appears in
the module's ``state_dict``; here it is a plain attribute and ``state_dict()`` is empty.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.nn.functional_loss import (
    check_reduction,
    cross_entropy,
    legacy_reduction,
)
from minigrad.nn.module import Module
from minigrad.tensor import Tensor


class CrossEntropyLoss(Module):
    """``CrossEntropyLoss(weight=None, size_average=None, ignore_index=-100, reduce=None,
    reduction="mean", label_smoothing=0.0)``; ``loss(logits, target)`` is
    ``F.cross_entropy(logits, target, weight=weight, ...)``, PyTorch's arguments in its order.

    >>> loss = CrossEntropyLoss(label_smoothing=0.1)
    >>> round(loss(Tensor([[0.0, 0.0]]), [1]).item(), 4)
    0.6931
    """

    def __init__(
        self,
        weight: Any = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__()
        self.reduction = legacy_reduction(size_average, reduce, reduction)
        check_reduction(self.reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
        if weight is not None and not isinstance(weight, Tensor):
            weight = Tensor(np.asarray(weight))
        self.weight = weight
        self.ignore_index = int(ignore_index)
        self.label_smoothing = float(label_smoothing)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return cross_entropy(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )
