"""``Dropout``: during training, zero each element with probability p and scale the rest by 1/(1-p).

The scaling keeps the expected value of every element unchanged, so at evaluation time, when
dropout does nothing, the next layer sees inputs of the same size as it did in training.  The
module only remembers ``p`` and the mode; ``nn.functional.dropout`` draws the mask and
``minigrad.ops.elementwise.ApplyMask`` is the op.
"""

from __future__ import annotations

from minigrad.nn import functional as F
from minigrad.nn.module import Module
from minigrad.tensor import Tensor


class Dropout(Module):
    """Zero elements with probability ``p`` in ``train()`` mode; do nothing in ``eval()`` mode.

    >>> d = Dropout(0.5).eval()
    >>> d(Tensor(np.ones(3))).data
    array([1., 1., 1.])
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = F.check_dropout_p(p)

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
