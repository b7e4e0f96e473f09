"""Elementwise operations: each output element depends on the same element of each input.

So every local derivative is elementwise too, and backward is "upstream gradient times local
derivative" (the chain rule), element by element.  Broadcasting is undone by the engine
(``minigrad.autograd.unbroadcast``), so these gradients may have the broadcast shape.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from minigrad import kernels
from minigrad.autograd import Function


def default_float(out, *operands):
    """Integers in, float out: numpy would answer float64, PyTorch its default float32.

    ``int_tensor / 2`` or ``int_tensor * 0.5`` is float32 here, as in PyTorch; a result is kept
    in float64 only when an operand already was float64.
    """
    if out.dtype == np.float64 and not any(
        getattr(x, "dtype", None) == np.float64 for x in operands
    ):
        return out.astype(np.float32)
    return out


def _broadcast_error(op: str, a: object, b: object) -> ValueError:
    sa = getattr(a, "shape", ())
    sb = getattr(b, "shape", ())
    return ValueError(f"{op}: shapes {sa} and {sb} cannot be broadcast together")


class Add(Function):
    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, a, b):
        try:
            return default_float(a + b, a, b)
        except ValueError:
            raise _broadcast_error("add", a, b) from None

    def backward(self, grad):
        # d(a+b)/da = 1, d(a+b)/db = 1
        return grad, grad

    def backward_graph(self, grad):
        return grad, grad


class Sub(Function):
    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, a, b):
        try:
            return default_float(a - b, a, b)
        except ValueError:
            raise _broadcast_error("sub", a, b) from None

    def backward(self, grad):
        # d(a-b)/da = 1, d(a-b)/db = -1
        return grad, (-grad if self.inputs[1] is not None else None)

    def backward_graph(self, grad):
        return grad, (-grad if self.inputs[1] is not None else None)


class Mul(Function):
    # d/da needs b, d/db needs a
    kept_only_for: ClassVar[dict[str, tuple[int, ...]]] = {
        "a": (1,),
        "b": (0,),
    }

    def forward(self, a, b):
        self.a, self.b = a, b
        try:
            return default_float(a * b, a, b)
        except ValueError:
            raise _broadcast_error("mul", a, b) from None

    def backward(self, grad):
        # d(a*b)/da = b, d(a*b)/db = a
        ga = grad * self.b if self.inputs[0] is not None else None
        gb = grad * self.a if self.inputs[1] is not None else None
        return ga, gb

    def backward_graph(self, grad):
        # the same rule in Tensor ops: d(a*b)/da = b, where b is the input tensor itself when it
        # requires grad, so that d/db of this gradient (the mixed second derivative, 1) exists
        a, b = self.operand(0, self.a), self.operand(1, self.b)
        ga = grad * b if self.inputs[0] is not None else None
        gb = grad * a if self.inputs[1] is not None else None
        return ga, gb


class Div(Function):
    # d/da = 1/b needs b only; d/db = -a/b^2 needs both
    kept_only_for: ClassVar[dict[str, tuple[int, ...]]] = {"a": (1,)}

    def forward(self, a, b):
        self.a, self.b = a, b
        try:
            return default_float(a / b, a, b)
        except ValueError:
            raise _broadcast_error("div", a, b) from None

    def backward(self, grad):
        # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
        ga = grad / self.b if self.inputs[0] is not None else None
        gb = -grad * self.a / (self.b * self.b) if self.inputs[1] is not None else None
        return ga, gb

    def backward_graph(self, grad):
        a, b = self.operand(0, self.a), self.operand(1, self.b)
        ga = grad / b if self.inputs[0] is not None else None
        gb = -grad * a / (b * b) if self.inputs[1] is not None else None
        return ga, gb


class Neg(Function):
    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, a):
        return -a

    def backward(self, grad):
        # d(-a)/da = -1
        return -grad

    def backward_graph(self, grad):
        return -grad


class Pow(Function):
    # d/da needs a and b, d/db needs a^b and a
    kept_only_for: ClassVar[dict[str, tuple[int, ...]]] = {
        "b": (0,),
        "out": (1,),
    }

    def forward(self, a, b):
        self.a, self.b = a, b
        try:
            self.out = default_float(np.power(a, b), a, b)
        except ValueError as exc:
            try:
                np.broadcast_shapes(np.shape(a), np.shape(b))
            except ValueError:
                raise _broadcast_error("pow", a, b) from None
            raise ValueError(f"pow: {exc}") from None  # e.g. an integer to a negative power
        return self.out

    def backward(self, grad):
        a, b = self.a, self.b
        ga = gb = None
        if self.inputs[0] is not None:
            # d(a^b)/da = b * a^(b-1), and 0 where b = 0 (a^0 = 1 is constant; the formula
            # would give 0 * 0^-1 = NaN at a = 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                ga = grad * np.where(b == 0, 0, b * np.power(a, b - 1))
        if self.inputs[1] is not None:
            # d(a^b)/db = a^b * ln(a)   (undefined for a <= 0: NaN there, as in PyTorch)
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = grad * self.out * np.log(a)
        return ga, gb

    def backward_graph(self, grad):
        a, b = self.operand(0, self.a), self.operand(1, self.b)
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.inputs[0] is not None:
                if self.inputs[1] is None and np.ndim(self.b) == 0:  # a constant exponent
                    ga = grad * (b * a ** (b - 1)) if self.b != 0 else grad * 0
                else:  # b * a^(b-1), 0 where b = 0 (as in backward)
                    ga = grad * Where.apply(np.asarray(self.b) == 0, 0, b * a ** (b - 1))
            if self.inputs[1] is not None:
                # d(a^b)/db = a^b ln(a): a^b recomputed, a graph node of its own
                log_a = a.log() if self.inputs[0] is not None else np.log(self.a)
                gb = grad * (a**b) * log_a
        return ga, gb


class Exp(Function):
    def forward(self, a):
        self.out = default_float(np.exp(a), a)
        return self.out

    def backward(self, grad):
        # d(e^a)/da = e^a: the output itself, kept from forward
        return grad * self.out

    def backward_graph(self, grad):
        # e^a recomputed as an op (the saved array is a constant): d/da of it is e^a again
        return grad * self.inputs[0].exp()


class Log(Function):
    def forward(self, a):
        self.a = a
        return default_float(np.log(a), a)

    def backward(self, grad):
        # d(ln a)/da = 1/a
        return grad / self.a

    def backward_graph(self, grad):
        return grad / self.inputs[0]


class Sqrt(Function):
    def forward(self, a):
        self.out = default_float(np.sqrt(a), a)
        return self.out

    def backward(self, grad):
        # d(sqrt a)/da = 1 / (2 sqrt a)
        return grad / (2 * self.out)

    def backward_graph(self, grad):
        return grad / (2 * self.inputs[0].sqrt())


class Abs(Function):
    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, a):
        self.a = a
        return np.abs(a)

    def backward(self, grad):
        # d|a|/da = sign(a) (0 at a = 0, as PyTorch chooses)
        return grad * np.sign(self.a)

    def backward_graph(self, grad):
        # sign(a) is piecewise constant: its own derivative is 0
        return ApplyMask.apply(grad, mask=np.sign(self.a))


class Tanh(Function):
    def forward(self, a):
        self.out = default_float(np.tanh(a), a)
        return self.out

    def backward(self, grad):
        # d tanh(a)/da = 1 - tanh(a)^2
        return grad * (1 - self.out * self.out)

    def backward_graph(self, grad):
        t = self.inputs[0].tanh()
        return grad * (1 - t * t)


class Sigmoid(Function):
    def forward(self, a):
        # sigmoid(a) = (1 + tanh(a/2)) / 2: never overflows, unlike 1 / (1 + exp(-a))
        self.out = default_float(0.5 * (np.tanh(0.5 * a) + 1), a)
        return self.out

    def backward(self, grad):
        # d sigmoid(a)/da = sigmoid(a) * (1 - sigmoid(a))
        return grad * self.out * (1 - self.out)

    def backward_graph(self, grad):
        s = self.inputs[0].sigmoid()
        return grad * s * (1 - s)


class Relu(Function):
    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, a):
        self.mask = a > 0
        return np.maximum(a, 0)

    def backward(self, grad):
        # d relu(a)/da = 1 where a > 0, else 0
        return grad * self.mask

    def backward_graph(self, grad):
        # the mask is piecewise constant: relu'' = 0 (away from the kink)
        return ApplyMask.apply(grad, mask=self.mask)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715


class GeluTanh(Function):
    """GELU, tanh approximation: 0.5 a (1 + tanh(sqrt(2/pi) (a + 0.044715 a^3)))."""

    def forward(self, a):
        self.a = a
        self.t = np.tanh(_SQRT_2_OVER_PI * (a + _GELU_C * a * a * a))
        return 0.5 * a * (1 + self.t)

    def backward(self, grad):
        a, t = self.a, self.t
        # product rule: 0.5 (1 + t) + 0.5 a (1 - t^2) * d(inner)/da
        inner_grad = _SQRT_2_OVER_PI * (1 + 3 * _GELU_C * a * a)
        return grad * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * inner_grad)

    def backward_graph(self, grad):
        a = self.inputs[0]
        t = (_SQRT_2_OVER_PI * (a + _GELU_C * a * a * a)).tanh()
        inner_grad = _SQRT_2_OVER_PI * (1 + 3 * _GELU_C * a * a)
        return grad * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * inner_grad)


class GeluErf(Function):
    """GELU, exact: a * Phi(a), where Phi is the standard normal CDF."""

    def forward(self, a):
        self.a = a
        # y = a Phi(a), Phi(a) = (1 + erf(a / sqrt 2)) / 2, kept for the backward; float32 in
        # one compiled pass (kernels/elementwise.py, beside its numpy + libm-erf reference)
        y, self.cdf = kernels.gelu_erf_forward(np.asarray(a))
        return y

    def backward(self, grad):
        # d(a Phi(a))/da = Phi(a) + a * phi(a), phi the standard normal density
        a = np.asarray(self.a)
        g = np.asarray(grad, dtype=a.dtype)
        return kernels.gelu_erf_backward(a, self.cdf, np.broadcast_to(g, a.shape))

    def backward_graph(self, grad):
        # Phi(a) needs erf, which is no op: the gradient is an op of its own (GeluErfGrad)
        return GeluErfGrad.apply(self.inputs[0], grad)


def _normal_pdf(a):
    """phi(a) = exp(-a^2 / 2) / sqrt(2 pi), of an array, or of a Tensor in Tensor ops."""
    e = np.exp(-0.5 * a * a) if isinstance(a, np.ndarray) else (-0.5 * a * a).exp()
    return e * (1 / math.sqrt(2 * math.pi))


class GeluErfGrad(Function):
    """``GeluErfGrad.apply(a, g) = g * (Phi(a) + a phi(a))``: exact GELU's backward as an op.

    Its own derivatives: d/dg = Phi(a) + a phi(a) (the output is linear in g), and
    d/da = g * phi(a) (2 - a^2), because phi'(a) = -a phi(a).
    """

    def forward(self, a, g):
        self.a, self.g = a, g
        cdf = 0.5 * (1 + kernels.erf(np.asarray(a * (1 / math.sqrt(2.0)))))
        self.slope = cdf + a * _normal_pdf(a)
        return g * self.slope

    def backward(self, grad):
        ga = grad * self.g * _normal_pdf(self.a) * (2 - self.a * self.a)
        gg = grad * self.slope if self.inputs[1] is not None else None
        return (ga if self.inputs[0] is not None else None), gg

    def backward_graph(self, grad):
        a, g = self.operand(0, self.a), self.operand(1, self.g)
        ga = gg = None
        if self.inputs[0] is not None:
            ga = grad * g * _normal_pdf(a) * (2 - a * a)
        if self.inputs[1] is not None:
            gg = GeluErfGrad.apply(a, grad)  # linear in g: the same slope times grad
        return ga, gg


class ApplyMask(Function):
    """``y = x * mask`` with a constant ``mask``: the op behind dropout (``nn.functional.dropout``).

    ``ApplyMask.apply(x, mask=m)``: the mask (``keep / (1 - p)``, drawn by the caller) is a
    keyword, not a differentiable input.
    """

    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, x, mask=None):
        self.mask = mask
        return x * mask

    def backward(self, grad):
        # d(x * mask)/dx = mask: the same mask as the forward, not a new draw
        return grad * self.mask

    def backward_graph(self, grad):
        return ApplyMask.apply(grad, mask=self.mask)


class _Pick(Function):
    """maximum / minimum: each output element is one of the two inputs' elements.

    The gradient goes to the input that was picked; at a tie it is split in half (as PyTorch).
    """

    pick = staticmethod(np.maximum)
    beats = staticmethod(np.greater)  # a is picked where beats(a, b)

    def forward(self, a, b):
        self.a, self.b = a, b
        try:
            return self.pick(a, b)
        except ValueError:
            raise _broadcast_error(type(self).__name__.lower(), a, b) from None

    def backward(self, grad):
        a, b = self.a, self.b
        share_a = self.beats(a, b) + 0.5 * (a == b)
        ga = grad * share_a if self.inputs[0] is not None else None
        gb = grad * (1 - share_a) if self.inputs[1] is not None else None
        return ga, gb

    def backward_graph(self, grad):
        # the shares are piecewise constant: no second derivative (away from ties)
        share_a = (self.beats(self.a, self.b) + 0.5 * (self.a == self.b)).astype(grad.dtype)
        ga = ApplyMask.apply(grad, mask=share_a) if self.inputs[0] is not None else None
        gb = ApplyMask.apply(grad, mask=1 - share_a) if self.inputs[1] is not None else None
        return ga, gb


class Maximum(_Pick):
    pick = staticmethod(np.maximum)
    beats = staticmethod(np.greater)


class Minimum(_Pick):
    pick = staticmethod(np.minimum)
    beats = staticmethod(np.less)


class Clamp(Function):
    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, a, min=None, max=None):
        self.a, self.lo, self.hi = a, min, max
        return np.clip(a, min, max)

    def backward(self, grad):
        # slope 1 inside [min, max] (bounds included, as PyTorch), 0 where clipped
        a = self.a
        inside = np.ones(a.shape, dtype=bool)
        if self.lo is not None:
            inside &= a >= self.lo
        if self.hi is not None:
            inside &= a <= self.hi
        return grad * inside

    def backward_graph(self, grad):
        inside = np.ones(self.a.shape, dtype=bool)
        if self.lo is not None:
            inside &= self.a >= self.lo
        if self.hi is not None:
            inside &= self.a <= self.hi
        return ApplyMask.apply(grad, mask=inside)


class Where(Function):
    def forward(self, cond, a, b):
        self.cond = cond
        try:
            return np.where(cond, a, b)
        except ValueError:
            raise _broadcast_error("where", a, b) from None

    def backward(self, grad):
        # each output element came from a or from b: its gradient goes back to that one only
        zero = np.zeros((), dtype=grad.dtype)
        ga = np.where(self.cond, grad, zero) if self.inputs[1] is not None else None
        gb = np.where(self.cond, zero, grad) if self.inputs[2] is not None else None
        return None, ga, gb

    def backward_graph(self, grad):
        ga = Where.apply(self.cond, grad, 0) if self.inputs[1] is not None else None
        gb = Where.apply(self.cond, 0, grad) if self.inputs[2] is not None else None
        return None, ga, gb


class Cast(Function):
    graph_reads_inputs = False  # backward_graph: made of grad alone

    def forward(self, a, dtype=None):
        self.dtype = a.dtype
        return a.astype(dtype)

    def backward(self, grad):
        # a change of precision: the gradient is cast back
        return grad.astype(self.dtype)

    def backward_graph(self, grad):
        return grad.to(self.dtype)
