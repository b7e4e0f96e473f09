"""``Affine``: ``y = x @ W.T + b`` as one node, the op behind ``nn.Linear`` and ``F.linear``.

For x of shape (..., in), a weight W (out, in) and a bias b (out,), with the leading dimensions
flattened into N rows and ``G = dL/dy`` of shape (N, out)::

    dL/dx = G @ W          (N, in): each input feature reaches every output through W
    dL/dW = G^T @ x        (out, in): summed over every row
    dL/db = column sums of G   (b was added to every row)

Fused (one node instead of transpose, matmul and add) because it is the hot path of every MLP;
the math is that of those three ops.
"""

from __future__ import annotations

from typing import ClassVar

from minigrad.autograd import Function


class Affine(Function):
    """``Affine.apply(x, weight)`` or ``Affine.apply(x, weight, bias)``; checked by ``F.linear``."""

    # dL/dW needs x, dL/dx needs W
    kept_only_for: ClassVar[dict[str, tuple[int, ...]]] = {
        "x2": (1,),
        "weight": (0,),
    }

    def forward(self, x, weight, bias=None):
        if x.shape[-1:] != weight.shape[1:]:
            raise ValueError(
                f"linear: input has {x.shape[-1] if x.ndim else 'no'} features (shape "
                f"{x.shape}) but the weight {weight.shape} expects {weight.shape[1]}"
            )
        self.x2 = x.reshape(-1, weight.shape[1])  # leading dims flattened: one matmul
        self.x_shape, self.weight = x.shape, weight
        out = self.x2 @ weight.T
        if bias is not None:
            out += bias
        return out.reshape(*x.shape[:-1], weight.shape[0])

    def backward(self, grad):
        g2 = grad.reshape(-1, self.weight.shape[0])
        gx = gw = gb = None
        if self.inputs[0] is not None:
            gx = (g2 @ self.weight).reshape(self.x_shape)  # dL/dx = G @ W
        if self.inputs[1] is not None:
            gw = g2.T @ self.x2  # dL/dW = G^T @ x: (out, in), summed over every row
        if len(self.inputs) == 2:  # called without a bias
            return gx, gw
        if self.inputs[2] is not None:
            gb = g2.sum(axis=0)  # dL/db = column sums of G (b was added to every row)
        return gx, gw, gb

    def backward_graph(self, grad):
        # the same three formulas in Tensor ops, with x and W themselves where they require
        # grad: dL/dx = G @ W depends on W and dL/dW = G^T @ x on x (the mixed second derivatives)
        n_out, n_in = self.weight.shape
        x2 = self.operand(0, self.x2).reshape(-1, n_in)
        w = self.operand(1, self.weight)
        g2 = grad.reshape(-1, n_out)
        gx = gw = gb = None
        if self.inputs[0] is not None:
            gx = (g2 @ w).reshape(self.x_shape)
        if self.inputs[1] is not None:
            gw = g2.mT @ x2
        if len(self.inputs) == 2:
            return gx, gw
        if self.inputs[2] is not None:
            gb = g2.sum(dim=0)
        return gx, gw, gb
