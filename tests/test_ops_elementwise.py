"""Elementwise ops: forward equals the numpy expression, backward equals finite differences.

Binary ops run over mutually broadcastable shapes, so the engine's ``unbroadcast`` is exercised
by every one of them.  Values come from ``safe_floats`` (|x| >= 0.1: away from the kinks of
abs and relu); ops with a tie kink (maximum, minimum, clamp) keep inputs apart explicitly.
"""

from __future__ import annotations

import math
import operator

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.testing import broadcastable_shapes, gradcheck, safe_floats, tensors
from tests.autograd_support import check_op

BINARY = {
    "add": (operator.add, np.add),
    "sub": (operator.sub, np.subtract),
    "mul": (operator.mul, np.multiply),
    "div": (operator.truediv, np.true_divide),
}


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_op_with_broadcasting(name, data):
    op, reference = BINARY[name]
    sa, sb = data.draw(broadcastable_shapes())
    a, b = data.draw(tensors(sa)), data.draw(tensors(sb))
    check_op(op, reference, a, b)


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_op_one_side_constant(name, data):
    # only one input requires grad: the other's gradient must not be needed or computed wrongly
    op, reference = BINARY[name]
    sa, sb = data.draw(broadcastable_shapes())
    a, b = data.draw(tensors(sa)), data.draw(tensors(sb, requires_grad=False))
    check_op(op, reference, a, b)
    check_op(op, reference, b.detach(), a)


@pytest.mark.parametrize(
    ("method", "reference"), [("maximum", np.maximum), ("minimum", np.minimum)]
)
@given(shapes=broadcastable_shapes(), data=st.data())
def test_maximum_minimum(method, reference, shapes, data):
    a, b = data.draw(tensors(shapes[0])), data.draw(tensors(shapes[1]))
    # a tie is a kink (the gradient is split there); finite differences need distance from it
    assume(np.all(np.abs(a.data - b.data) > 1e-3))
    check_op(lambda x, y: getattr(x, method)(y), reference, a, b)


def test_neg():
    x = mg.tensor([1.5, -2.0], dtype="float64", requires_grad=True)
    check_op(operator.neg, np.negative, x)


@given(x=tensors())
def test_neg_property(x):
    check_op(operator.neg, np.negative, x)


POS = safe_floats(positive=True)

UNARY = {
    "exp": (lambda x: x.exp(), np.exp, None),
    "log": (lambda x: x.log(), np.log, POS),
    "sqrt": (lambda x: x.sqrt(), np.sqrt, POS),
    "abs": (lambda x: x.abs(), np.abs, None),
    "abs_builtin": (abs, np.abs, None),
    "tanh": (lambda x: x.tanh(), np.tanh, None),
    "sigmoid": (lambda x: x.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), None),
    "relu": (lambda x: x.relu(), lambda a: np.where(a > 0, a, 0.0), None),
    "gelu_tanh": (
        lambda x: x.gelu(approximate="tanh"),
        lambda a: 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a**3))),
        None,
    ),
}


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
def test_unary_op(name, data):
    fn, reference, elements = UNARY[name]
    x = data.draw(tensors(elements=elements))
    # rtol 1e-12: sigmoid via tanh and the logistic formula agree to a few ulps, not bitwise
    check_op(fn, reference, x, rtol=1e-12)


_erf = np.vectorize(math.erf, otypes=[np.float64])


@example(x=mg.tensor(1.0, dtype="float64", requires_grad=True))  # 0-d: erf got a numpy scalar
@given(x=tensors())
def test_gelu_exact(x):
    check_op(
        lambda t: t.gelu(),
        lambda a: 0.5 * a * (1 + _erf(a / math.sqrt(2))),
        x,
        rtol=1e-7,  # the kernel's erf is an approximation, not libm's
    )


def test_relu_abs_at_zero_have_zero_gradient():
    # PyTorch's choice at the kink: relu'(0) = 0 and abs'(0) = sign(0) = 0
    x = mg.tensor([0.0, -1.0, 2.0], requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])
    x.grad = None
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, -1.0, 1.0])


@pytest.mark.parametrize("exponent", [2, 3, 1, -1, -2, 0.5, -1.5, 2.5])
@given(data=st.data())
def test_pow_scalar_exponent(exponent, data):
    positive = not float(exponent).is_integer()  # a fractional power of a negative is NaN
    x = data.draw(tensors(elements=safe_floats(positive=positive)))
    check_op(lambda t: t**exponent, lambda a: a**exponent, x)


@pytest.mark.parametrize("exponent", [0, 0.0, np.zeros(3)])
def test_pow_zero_exponent_has_zero_gradient_everywhere(exponent):
    # x**0 = 1 is constant, so its derivative is 0, also at x = 0 (0 * 0**-1 must not be NaN)
    x = mg.tensor([0.0, 2.0, -3.0], dtype="float64", requires_grad=True)
    (x**exponent).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])


@pytest.mark.parametrize("base", [2, 0.5, math.e, 3.0])
@given(x=tensors())
def test_pow_scalar_base(base, x):
    check_op(lambda t: base**t, lambda a: np.power(base, a), x)


@given(shapes=broadcastable_shapes(), data=st.data())
def test_pow_tensor_exponent(shapes, data):
    base = data.draw(tensors(shapes[0], elements=POS))
    exponent = data.draw(tensors(shapes[1]))
    check_op(operator.pow, np.power, base, exponent)


@given(
    x=tensors(),
    lo=st.one_of(st.none(), st.floats(-2, 1)),
    width=st.floats(0.1, 3),
    has_hi=st.booleans(),
)
def test_clamp(x, lo, width, has_hi):
    hi = (lo if lo is not None else -1.0) + width if has_hi or lo is None else None
    for bound in (lo, hi):
        if bound is not None:
            assume(np.all(np.abs(x.data - bound) > 1e-3))  # the bounds are kinks
    check_op(lambda t: t.clamp(lo, hi), lambda a: np.clip(a, lo, hi), x)


def test_clamp_gradient_is_one_at_the_bounds():
    # as PyTorch: the bounds themselves count as inside
    x = mg.tensor([-2.0, -1.0, 0.0, 1.0, 2.0], requires_grad=True)
    x.clamp(-1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0, 1.0, 0.0])


@given(shapes=broadcastable_shapes(num_shapes=3), data=st.data())
def test_where(shapes, data):
    cond = data.draw(tensors(shapes[0], dtype=np.bool_, requires_grad=False))
    a, b = data.draw(tensors(shapes[1])), data.draw(tensors(shapes[2]))
    check_op(lambda x, y: mg.where(cond, x, y), lambda x, y: np.where(cond.data, x, y), a, b)


@given(x=tensors(), value=safe_floats())
def test_where_with_scalar_side_and_masked_fill(x, value):
    mask = x.data > 0
    check_op(lambda t: mg.where(mask, value, t), lambda a: np.where(mask, value, a), x)
    check_op(lambda t: mg.where(mask, t, value), lambda a: np.where(mask, a, value), x)
    check_op(lambda t: t.masked_fill(mask, value), lambda a: np.where(mask, value, a), x)


def test_where_needs_boolean_condition():
    x = mg.ones(3, requires_grad=True)
    with pytest.raises(TypeError, match="boolean"):
        mg.where(np.array([1, 0, 1]), x, 0.0)


def test_cast_float32_to_float64_and_back():
    x = mg.tensor([1.0, -2.0, 3.0], requires_grad=True)  # float32
    y = x.to(mg.float64)
    assert y.dtype == np.float64 and y.requires_grad
    np.testing.assert_array_equal(y.data, x.data.astype(np.float64))
    w = np.array([0.1, 0.2, 0.3])
    (y * w).sum().backward()
    assert x.grad.dtype == np.float32  # cast back to the leaf's precision
    np.testing.assert_allclose(x.grad, w.astype(np.float32))
    assert x.to(np.float32) is x  # same dtype: no new node, as PyTorch
    assert x.double().dtype == np.float64 and x.double().float().dtype == np.float32


def test_cast_to_integer_has_no_gradient():
    x = mg.tensor([1.7, -2.2], requires_grad=True)
    y = x.to(mg.int64)
    assert y.dtype == np.int64 and not y.requires_grad
    np.testing.assert_array_equal(y.data, [1, -2])
    assert x.long().dtype == np.int64


@given(x=tensors())
def test_cast_gradient_property(x):
    # float64 -> float32 -> float64 loses precision, so compare to the exact rule instead of
    # finite differences: d cast(x)/dx = 1, the gradient only changes precision
    y = x.to(np.float32)
    g = np.linspace(-1, 1, num=max(y.data.size, 1))[: y.data.size].reshape(y.shape)
    y.backward(g.astype(np.float32))
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, g.astype(np.float32).astype(np.float64))


@pytest.mark.parametrize(
    ("op", "reference"),
    [
        (operator.eq, np.equal),
        (operator.ne, np.not_equal),
        (operator.lt, np.less),
        (operator.le, np.less_equal),
        (operator.gt, np.greater),
        (operator.ge, np.greater_equal),
    ],
)
@given(shapes=broadcastable_shapes(), data=st.data())
def test_comparisons_are_boolean_without_grad(op, reference, shapes, data):
    small = st.integers(-2, 2).map(float)  # small integers, so that ties occur
    a = data.draw(tensors(shapes[0], elements=small))
    b = data.draw(tensors(shapes[1], elements=small))
    cases = [(a, b, a.data, b.data), (a, 1.0, a.data, 1.0), (a, b.data, a.data, b.data)]
    for lhs, rhs, rl, rr in cases:
        out = op(lhs, rhs)
        assert out.dtype == np.bool_
        assert not out.requires_grad and out.grad_fn is None
        np.testing.assert_array_equal(out.data, reference(rl, rr))


def test_comparison_result_cannot_be_backpropagated():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x > 1.0).sum().backward()


def test_gradcheck_agrees_on_a_composite_expression():
    # a chain of several elementwise ops with reuse: checks that the local rules compose
    x = mg.tensor([[0.3, -1.2], [2.0, 0.7]], dtype="float64", requires_grad=True)
    y = mg.tensor([0.5, 1.5], dtype="float64", requires_grad=True)
    assert gradcheck(lambda a, b: ((a * b).tanh() + a.exp() / (b * b + 1)).sigmoid() * a, x, y)
