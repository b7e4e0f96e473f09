"""``NormalizeRows``: the op behind ``nn.LayerNorm`` and ``F.layer_norm``.

For one row ``x`` of D numbers (the last ``len(normalized_shape)`` dimensions, flattened)::

    mu   = mean(x)
    var  = mean((x - mu)^2)            # biased (divide by D), as PyTorch
    xhat = (x - mu) / sqrt(var + eps)
    y    = weight * xhat + bias

One fused op rather than mean, subtract, square, mean, sqrt, divide, multiply and add: one graph
node instead of eight, one pass of temporaries, and a backward that is three lines once you have
derived it (see ``NormalizeRows``).
"""

from __future__ import annotations

from minigrad import kernels
from minigrad.autograd import Function, constant


class NormalizeRows(Function):
    """``NormalizeRows.apply(x, weight, bias, n=D, eps=1e-5)``; weight and bias may be None.

    Backward, per row (``r = 1 / sqrt(var + eps)``, ``g = dL/dy``, means over the D entries):

        dL/dbias   = g                       (summed over every row)
        dL/dweight = g * xhat                (summed over every row)
        dL/dxhat   = gh = g * weight
        dL/dx      = r * (gh - mean(gh) - xhat * mean(gh * xhat))

    Why the last line: xhat depends on x directly and through mu and var.  Subtracting mu makes
    the gradient lose its mean (a shift of every x changes nothing), which is ``- mean(gh)``;
    dividing by the standard deviation makes it lose its component along xhat (scaling x
    changes nothing either), which is ``- xhat * mean(gh * xhat)``.  What is left is scaled by
    r, the factor the forward divided by.
    """

    def forward(self, x, weight=None, bias=None, n=1, eps=1e-5):
        # the forward formulas in one compiled pass per row for float32 (kernels/layer_norm.py,
        # beside its numpy reference: mean, centre, variance, r, xhat, weight and bias)
        out, xhat, rstd = kernels.layer_norm_forward(x.reshape(-1, n), weight, bias, eps)
        self.xhat, self.rstd, self.weight, self.shape = xhat, rstd, weight, x.shape
        self.eps = eps  # for backward_graph, which recomputes xhat as a function of x
        return out.reshape(x.shape)

    def backward(self, grad):
        n = self.xhat.shape[1]
        # dx, dweight and dbias of the docstring, compiled per row (kernels/layer_norm.py)
        gx, gw, gb = kernels.layer_norm_backward(
            grad.reshape(-1, n), self.xhat, self.rstd, self.weight
        )
        gx = gx.reshape(self.shape) if self.inputs[0] is not None else None
        gw = gw if len(self.inputs) > 1 and self.inputs[1] is not None else None
        gb = gb if len(self.inputs) > 2 and self.inputs[2] is not None else None
        return (gx, gw, gb)[: len(self.inputs)]

    def backward_graph(self, grad):
        # The formulas of ``backward`` in Tensor ops.  xhat and r are recomputed from x as ops
        # (the saved arrays are constants), because both depend on x: the second derivative
        # is made of exactly those dependences.
        n = self.xhat.shape[1]
        g = grad.reshape(-1, n)
        x = self.inputs[0]
        if x is not None:
            x2 = x.reshape(-1, n)
            xc = x2 - x2.mean(dim=1, keepdim=True)
            rstd = ((xc * xc).mean(dim=1, keepdim=True) + self.eps) ** -0.5
            xhat = xc * rstd
        else:  # x is a constant: so are xhat and r
            xhat, rstd = constant(self.xhat), constant(self.rstd)
        weight = self.operand(1, self.weight) if len(self.inputs) > 1 else None
        gx = gw = gb = None
        if x is not None:
            gh = g * weight if weight is not None else g
            gx = rstd * (gh - gh.mean(dim=1, keepdim=True)
                         - xhat * (gh * xhat).mean(dim=1, keepdim=True))  # fmt: skip
            gx = gx.reshape(self.shape)
        if len(self.inputs) > 1 and self.inputs[1] is not None:
            gw = (g * xhat).sum(dim=0)
        if len(self.inputs) > 2 and self.inputs[2] is not None:
            gb = g.sum(dim=0)
        return (gx, gw, gb)[: len(self.inputs)]
