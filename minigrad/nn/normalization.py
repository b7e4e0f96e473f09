"""``LayerNorm``: normalise each row to mean 0 and variance 1, then scale and shift.

For one row ``x`` of D numbers (the last ``len(normalized_shape)`` dimensions, flattened)::

    mu   = mean(x)
    var  = mean((x - mu)^2)            # biased (divide by D), as PyTorch
    xhat = (x - mu) / sqrt(var + eps)
    y    = weight * xhat + bias

Written as one fused op (``LayerNormFn``) rather than as mean, subtract, square, mean, sqrt,
divide, multiply and add: one graph node instead of eight, one pass of temporaries, and a
backward that is three lines once you have derived it (see ``LayerNormFn``).

Deliberately left out: ``bias=False`` (PyTorch 2.1+), RMSNorm, and normalising over dimensions
other than the last ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.autograd import Function
from minigrad.nn.module import Module, Parameter
from minigrad.tensor import Tensor, _to_dtype


class LayerNormFn(Function):
    """``LayerNormFn.apply(x, weight, bias, n=D, eps=1e-5)``; weight and bias may be None.

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
        x2 = x.reshape(-1, n)
        mu = x2.mean(axis=1, keepdims=True)
        xc = x2 - mu
        var = np.einsum("ij,ij->i", xc, xc)[:, None] / n  # one pass, no (N, D) square temporary
        rstd = 1.0 / np.sqrt(var + eps)
        xhat = xc
        xhat *= rstd  # in place: xc is not needed any more
        self.xhat, self.rstd, self.weight, self.shape = xhat, rstd, weight, x.shape
        out = xhat * weight if weight is not None else xhat.copy()
        if bias is not None:
            out += bias
        return out.reshape(x.shape)

    def backward(self, grad):
        n = self.xhat.shape[1]
        g = grad.reshape(-1, n)
        xhat = self.xhat
        gx = gw = gb = None
        if self.inputs[0] is not None:
            gh = g * self.weight if self.weight is not None else g
            mean_gh = gh.mean(axis=1, keepdims=True)
            mean_ghx = np.einsum("ij,ij->i", gh, xhat)[:, None] / n
            gx = gh - mean_gh  # gh is a fresh array when weight is set; copy otherwise
            gx -= xhat * mean_ghx
            gx *= self.rstd
            gx = gx.reshape(self.shape)
        if len(self.inputs) > 1 and self.inputs[1] is not None:
            gw = np.einsum("ij,ij->j", g, xhat)  # dL/dweight = sum over rows of g * xhat
        if len(self.inputs) > 2 and self.inputs[2] is not None:
            gb = g.sum(axis=0)  # dL/dbias = sum over rows of g
        return (gx, gw, gb)[: len(self.inputs)]


def layer_norm(
    x: Tensor,
    normalized_shape: Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Functional LayerNorm over the last ``len(normalized_shape)`` dimensions of ``x``.

    >>> x = Tensor(np.array([[1.0, 2.0, 3.0]]))
    >>> np.round(layer_norm(x, (3,)).data, 4)       # mean 0, variance 1
    array([[-1.2247,  0.    ,  1.2247]])
    """
    if not isinstance(x, Tensor):
        x = Tensor(x)
    shape = tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or tuple(x.shape[-k:]) != shape:
        raise ValueError(
            f"layer_norm: the last dimensions of the input (shape {x.shape}) must equal "
            f"normalized_shape {shape}"
        )
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != shape:
            raise ValueError(f"layer_norm {name} must have shape {shape}, got {p.shape}")
    n = math.prod(shape)
    w, b = weight, bias
    if k > 1:  # the op sees rows of n numbers: flatten the parameters to match
        w = None if weight is None else weight.reshape(n)
        b = None if bias is None else bias.reshape(n)
    if w is None and b is None:
        return LayerNormFn.apply(x, n=n, eps=eps)
    if b is None:
        return LayerNormFn.apply(x, w, n=n, eps=eps)
    return LayerNormFn.apply(x, w, b, n=n, eps=eps)


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
        dt = _to_dtype(dtype)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(shape, dt))
            self.bias = Parameter(np.zeros(shape, dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )
