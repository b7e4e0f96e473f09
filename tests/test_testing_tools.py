"""``minigrad.testing`` is public: gradcheck must catch wrong backwards and say where, and the
strategies must produce what their docstrings promise."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.autograd import Function
from minigrad.testing import (
    GradcheckError,
    broadcastable_shapes,
    gradcheck,
    matmul_shapes,
    safe_floats,
    shapes,
    tensors,
)


def leaf(values):
    return mg.tensor(values, dtype="float64", requires_grad=True)


class SquareWrongGrad(Function):
    """y = x^2 with a backward that forgets the factor 2."""

    def forward(self, a):
        self.a = a
        return a * a

    def backward(self, grad):
        return grad * self.a  # should be 2 * a * grad


class MulWrongSecondInput(Function):
    """y = a * b, correct for a, wrong for b."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        return grad * self.b, grad * self.b  # b's gradient should be grad * a


class ReverseForgetsToReverse(Function):
    """y = x[::-1] with backward not reversing: right for y.sum(), wrong for anything else."""

    def forward(self, a):
        return a[::-1].copy()

    def backward(self, grad):
        return grad


class WrongAtOneElement(Function):
    """y = 3x, but the gradient of element (1, 2) is off by 1e-3."""

    def forward(self, a):
        return 3 * a

    def backward(self, grad):
        g = 3 * grad
        g[1, 2] += 1e-3
        return g


def _message(exc_info) -> str:
    return str(exc_info.value)


def test_gradcheck_catches_a_wrong_backward_and_names_input_element_and_values():
    x = leaf([0.5, -1.5, 2.0])
    with pytest.raises(GradcheckError) as exc_info:
        gradcheck(lambda t: SquareWrongGrad.apply(t).sum(), x)
    msg = _message(exc_info)
    assert "input 0" in msg and "element (0,)" in msg
    # both values: analytic = a = 0.5, numeric = 2a = 1.0
    # plain numbers, not "np.float64(0.5)": the message is read by people learning backprop
    numbers = [float(v) for v in re.findall(r"(?:analytic|numeric) ([-\d.e]+),? ", msg)]
    assert len(numbers) == 2, msg
    assert numbers[0] == pytest.approx(0.5) and numbers[1] == pytest.approx(1.0, rel=1e-6)


def test_gradcheck_names_the_right_input():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 5.0])
    with pytest.raises(GradcheckError, match=r"input 1 .*element \(0,\)"):
        gradcheck(lambda s, t: MulWrongSecondInput.apply(s, t).sum(), a, b)
    # a constant first argument shifts the index: inputs are numbered as passed
    with pytest.raises(GradcheckError, match=r"input 2 "):
        gradcheck(lambda c, s, t: MulWrongSecondInput.apply(s, t).sum() * c, 2.0, a, b)


def test_gradcheck_names_the_element_index():
    x = leaf(np.linspace(-1, 1, 12).reshape(3, 4))
    with pytest.raises(GradcheckError, match=re.escape("element (1, 2)")):
        gradcheck(lambda t: WrongAtOneElement.apply(t), x)


def test_gradcheck_checks_the_whole_jacobian_of_a_non_scalar_output():
    x = leaf([1.0, 2.0, 3.0])
    assert gradcheck(lambda t: ReverseForgetsToReverse.apply(t).sum(), x)  # blind spot of sum
    with pytest.raises(GradcheckError):
        gradcheck(lambda t: ReverseForgetsToReverse.apply(t), x)  # random projection sees it


def test_gradcheck_accepts_correct_ops_and_restores_inputs():
    x = leaf([[0.3, -0.7], [1.1, 2.0]])
    before = x.data.copy()
    assert gradcheck(lambda t: (t.exp() * t).sum(dim=1), x) is True
    np.testing.assert_array_equal(x.data, before)


def test_gradcheck_input_requirements():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda t: t * 2, mg.tensor([1.0], requires_grad=True))
    with pytest.raises(ValueError, match="no input"):
        gradcheck(lambda t: t * 2, mg.tensor([1.0], dtype="float64"))
    with pytest.raises(ValueError, match="leaf"):
        gradcheck(lambda t: t * 2, leaf([1.0]) * 1)
    with pytest.raises(TypeError, match="Tensor"):
        gradcheck(lambda t: t.data, leaf([1.0]))
    with pytest.raises(GradcheckError, match="does not require grad"):
        gradcheck(lambda t: t.detach() * 2, leaf([1.0]))


# ----------------------------------------------------------------- strategies
@given(s=shapes())
def test_shapes_default_bounds(s):
    assert 0 <= len(s) <= 3 and all(1 <= n <= 4 for n in s)


@given(s=shapes(min_dims=2, max_dims=4, min_side=2, max_side=3))
def test_shapes_custom_bounds(s):
    assert 2 <= len(s) <= 4 and all(2 <= n <= 3 for n in s)


@given(num=st.integers(1, 4), data=st.data())
def test_broadcastable_shapes_broadcast(num, data):
    result = data.draw(broadcastable_shapes(num_shapes=num, max_dims=3, max_side=4))
    assert len(result) == num
    np.broadcast_shapes(*result)  # raises if they do not broadcast
    assert all(len(s) <= 3 and all(n <= 4 for n in s) for s in result)


def test_broadcastable_shapes_produce_real_broadcasting():
    # some pairs differ (size-1 or missing dims): otherwise unbroadcast would never be tested
    find(broadcastable_shapes(), lambda s: len(s[0]) != len(s[1]))
    find(broadcastable_shapes(), lambda s: any(1 == a != b for a, b in zip(s[0][::-1], s[1][::-1])))


@given(pair=matmul_shapes())
def test_matmul_shapes_are_valid_for_matmul(pair):
    a, b = pair
    np.matmul(np.zeros(a), np.zeros(b))


@pytest.mark.parametrize(
    "wanted",
    [
        lambda a, b: len(a) == 1 and len(b) == 1,
        lambda a, b: len(a) == 2 and len(b) == 2,
        lambda a, b: len(a) == 1 and len(b) >= 3,
        lambda a, b: len(a) >= 3 and len(b) == 1,
        lambda a, b: len(a) >= 3 and len(b) >= 3 and a[:-2] != b[:-2],  # broadcast batches
    ],
)
def test_matmul_shapes_cover_vectors_matrices_and_batches(wanted):
    find(matmul_shapes(), lambda p: wanted(*p), settings=settings(max_examples=2000))


@given(x=tensors())
def test_tensors_defaults(x):
    assert x.dtype == np.float64 and x.requires_grad and x.is_leaf
    assert np.all(np.abs(x.data) >= 0.1) and np.all(np.abs(x.data) <= 3.0)  # away from kinks


@given(x=tensors(shape=(2, 3), dtype=np.float32))
def test_tensors_shape_and_dtype(x):
    assert x.shape == (2, 3) and x.dtype == np.float32 and x.requires_grad


@given(x=tensors(shape=shapes(max_dims=2), dtype=np.int64))
def test_integer_tensors_do_not_require_grad(x):
    assert x.dtype == np.int64 and not x.requires_grad


@given(x=tensors(unique=True))
def test_unique_tensors(x):
    assert len(np.unique(x.data)) == x.data.size


@given(x=tensors(shape=shapes(), contiguous=False))
def test_non_contiguous_tensors(x):
    # a non-contiguous layout is possible for any array with more than one element
    if x.data.size > 1:
        assert not x.data.flags.c_contiguous


@given(x=tensors(contiguous=True))
def test_contiguous_tensors(x):
    assert x.data.flags.c_contiguous


def test_default_tensors_are_sometimes_non_contiguous():
    find(
        tensors(shape=(3, 4)),
        lambda t: not t.data.flags.c_contiguous,
        settings=settings(suppress_health_check=list(HealthCheck)),
    )


@given(x=tensors(elements=st.floats(-1, 1)))
def test_custom_elements(x):
    assert np.all(np.abs(x.data) <= 1)


@given(v=safe_floats(), p=safe_floats(min_magnitude=0.5, max_magnitude=2.0, positive=True))
def test_safe_floats(v, p):
    assert 0.1 <= abs(v) <= 3.0 and math.isfinite(v)
    assert 0.5 <= p <= 2.0


def test_safe_floats_produce_both_signs():
    find(safe_floats(), lambda v: v < 0)
    find(safe_floats(), lambda v: v > 0)


@given(x=tensors(unique=True))
def test_unique_tensors_are_far_apart_for_finite_differences(x):
    # distinct is not enough: 0.1 and 0.1 + 1e-9 are distinct, but a central difference with
    # eps = 1e-6 straddles the tie between them (found in amax's gradcheck)
    values = np.sort(x.data.ravel())
    assert np.all(np.diff(values) >= 0.01 - 1e-12)
