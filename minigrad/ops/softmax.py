"""softmax and log_softmax along one dimension, numerically stable.

Both subtract the row maximum first: exp(x - max) never overflows, and the result is the same
because softmax(x) = softmax(x - c) for any constant c.  That keeps logits of +-1e4 finite.
"""

from __future__ import annotations

import numpy as np

from minigrad.autograd import Function


class Softmax(Function):
    def forward(self, a, dim=-1):
        self.dim = dim
        shifted = a - a.max(axis=dim, keepdims=True)
        e = np.exp(shifted)
        self.out = e / e.sum(axis=dim, keepdims=True)
        return self.out

    def backward(self, grad):
        # Jacobian of softmax: d s_i / d x_j = s_i (delta_ij - s_j), so
        # dL/dx = s * (g - sum_j g_j s_j)
        s = self.out
        return s * (grad - (grad * s).sum(axis=self.dim, keepdims=True))

    def backward_graph(self, grad):
        s = self.inputs[0].softmax(self.dim)  # recomputed as an op: d s / d a is needed again
        return s * (grad - (grad * s).sum(dim=self.dim, keepdim=True))


class LogSoftmax(Function):
    def forward(self, a, dim=-1):
        self.dim = dim
        shifted = a - a.max(axis=dim, keepdims=True)
        self.out = shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
        return self.out

    def backward(self, grad):
        # log_softmax(x)_i = x_i - logsumexp(x), and d logsumexp / d x_j = softmax_j, so
        # dL/dx = g - softmax * sum_i g_i
        return grad - np.exp(self.out) * grad.sum(axis=self.dim, keepdims=True)

    def backward_graph(self, grad):
        return grad - self.inputs[0].softmax(self.dim) * grad.sum(dim=self.dim, keepdim=True)
