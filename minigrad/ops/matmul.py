"""Matrix multiplication with ``np.matmul`` semantics: 1-D, 2-D and batched with broadcasting.

For C = A @ B (A: n x k, B: k x m) each C[i, j] = sum_p A[i, p] B[p, j], so
dL/dA = dL/dC @ B^T  and  dL/dB = A^T @ dL/dC.
Vectors are treated as a 1-row (left) or 1-column (right) matrix and squeezed back afterwards;
batch dimensions that were broadcast are summed back by the engine.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from minigrad.autograd import Function


class MatMul(Function):
    # dL/dA needs B, dL/dB needs A
    kept_only_for: ClassVar[dict[str, tuple[int, ...]]] = {
        "a": (1,),
        "b": (0,),
    }

    def forward(self, a, b):
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            raise ValueError(
                f"matmul: both operands need at least 1 dimension, got shapes "
                f"{np.shape(a)} and {np.shape(b)}"
            )
        self.a, self.b = a, b
        try:
            return np.matmul(a, b)
        except ValueError:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} are not aligned: the last dimension of "
                f"the first ({a.shape[-1]}) must equal the "
                f"{'only' if b.ndim == 1 else 'second-to-last'} dimension of the second "
                f"({b.shape[0] if b.ndim == 1 else b.shape[-2]}), and batch dimensions must "
                "broadcast"
            ) from None

    def backward(self, grad):
        a, b = self.a, self.b
        # View vectors as matrices: a (k,) -> (1, k); b (k,) -> (k, 1); grad gets the same axes.
        a2 = a[np.newaxis, :] if a.ndim == 1 else a
        b2 = b[:, np.newaxis] if b.ndim == 1 else b
        g2 = grad
        if b.ndim == 1:  # first: for vector @ vector, grad is 0-d and becomes (1,), then (1, 1)
            g2 = np.expand_dims(g2, -1)
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        ga = gb = None
        if self.inputs[0] is not None:
            ga = np.matmul(g2, np.swapaxes(b2, -1, -2))  # dL/dA = dL/dC @ B^T
            if a.ndim == 1:
                ga = ga.reshape(ga.shape[:-2] + ga.shape[-1:])
        if self.inputs[1] is not None:
            gb = np.matmul(np.swapaxes(a2, -1, -2), g2)  # dL/dB = A^T @ dL/dC
            if b.ndim == 1:
                gb = gb.reshape(gb.shape[:-1])
        return ga, gb

    def backward_graph(self, grad):
        # the same two products in Tensor ops, with A and B themselves when they require grad:
        # dL/dA = G @ B^T depends on B, so the mixed second derivatives come from here
        a, b = self.operand(0, self.a), self.operand(1, self.b)
        a_vec, b_vec = a.ndim == 1, b.ndim == 1
        g2 = grad
        if b_vec:
            g2 = g2.unsqueeze(-1)
        if a_vec:
            g2 = g2.unsqueeze(-2)
        ga = gb = None
        if self.inputs[0] is not None:
            ga = g2 @ (b.unsqueeze(-1) if b_vec else b).mT  # dL/dA = dL/dC @ B^T
            if a_vec:
                ga = ga.squeeze(-2)
        if self.inputs[1] is not None:
            gb = (a.unsqueeze(-2) if a_vec else a).mT @ g2  # dL/dB = A^T @ dL/dC
            if b_vec:
                gb = gb.squeeze(-1)
        return ga, gb
