"""Bad input gets a clear error: the exception type a Python user expects, and a message that
names the offending value and what was expected (shapes, dtypes, dims)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import minigrad as mg


def _names_both(exc_info, sa, sb) -> None:
    msg = str(exc_info.value)
    assert str(sa) in msg and str(sb) in msg, msg


# ----------------------------------------------------------------- shapes
@pytest.mark.parametrize(
    "op",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a * b,
        lambda a, b: a / b,
        lambda a, b: a**b,
        lambda a, b: a.maximum(b),
        lambda a, b: a.minimum(b),
        lambda a, b: mg.where(np.ones((2, 3), dtype=bool), a, b),
    ],
)
@pytest.mark.parametrize("requires_grad", [False, True])
def test_mismatched_elementwise_shapes_name_both(op, requires_grad):
    a = mg.ones(2, 3, requires_grad=requires_grad)
    b = mg.ones(4, requires_grad=requires_grad)
    with pytest.raises(ValueError) as exc_info:
        op(a, b)
    _names_both(exc_info, (2, 3), (4,))
    with pytest.raises(ValueError) as exc_info:
        op(a, np.ones(4))  # a numpy operand too
    _names_both(exc_info, (2, 3), (4,))


@pytest.mark.parametrize(
    ("sa", "sb"), [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3), (2,)), ((5, 2, 3), (4, 3, 2))]
)
def test_matmul_mismatch_names_both_shapes(sa, sb):
    with pytest.raises(ValueError) as exc_info:
        mg.ones(*sa) @ mg.ones(*sb)
    _names_both(exc_info, sa, sb)


def test_pow_error_that_is_not_about_shapes_is_not_reported_as_one():
    with pytest.raises(ValueError, match="negative") as exc_info:
        mg.tensor([1, 2]) ** -1  # numpy: integers to negative integer powers are not allowed
    assert "broadcast" not in str(exc_info.value)


def test_matmul_of_zero_dim_raises():
    with pytest.raises(ValueError, match="at least 1 dimension"):
        mg.tensor(2.0) @ mg.ones(2)


def test_cat_and_stack_mismatch_name_the_shapes():
    with pytest.raises(ValueError) as exc_info:
        mg.cat([mg.ones(2, 3), mg.ones(2, 4)], dim=0)
    _names_both(exc_info, (2, 3), (2, 4))
    with pytest.raises(ValueError) as exc_info:
        mg.stack([mg.ones(2, 3), mg.ones(3, 2)])
    _names_both(exc_info, (2, 3), (3, 2))
    with pytest.raises(ValueError):
        mg.cat([])


def test_reshape_mismatch_names_both_shapes():
    with pytest.raises(ValueError) as exc_info:
        mg.ones(2, 3).reshape(4, 2)
    _names_both(exc_info, (2, 3), (4, 2))


def test_expand_mismatch_names_both_shapes():
    with pytest.raises(ValueError) as exc_info:
        mg.ones(2, 3).expand(2, 4)
    _names_both(exc_info, (2, 3), (2, 4))


def test_index_out_of_range_names_the_shape():
    with pytest.raises(IndexError, match=re.escape("(2, 3)")):
        mg.ones(2, 3)[5]


def test_inplace_shape_mismatch_names_the_shapes():
    with pytest.raises(ValueError) as exc_info:
        mg.ones(2, 3).add_(mg.ones(4))
    _names_both(exc_info, (2, 3), (4,))


# ----------------------------------------------------------------- dtypes
@pytest.mark.parametrize(
    "data",
    [
        "abc",
        ["1.5", "2"],
        np.array(["a", "b"]),
        np.array([1.0, 2.0], dtype=object),
        None,
        [1.0, None],
        {"a": 1},
    ],
)
def test_tensors_of_non_numbers_raise_type_error(data):
    with pytest.raises(TypeError):
        mg.tensor(data)
    with pytest.raises(TypeError):
        mg.tensor(data, dtype=mg.float32)  # a target dtype must not make numpy convert them


@pytest.mark.parametrize(
    "other", ["1.5", "abc", None, np.array([1.0, 2.0], dtype=object), np.array(["1", "2"])]
)
@pytest.mark.parametrize("side", ["left", "right"])
def test_binary_ops_with_non_numbers_raise_type_error(other, side):
    # "1.5" must not be parsed, None must not become NaN, object arrays must not be unpacked
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError):
        if side == "left":
            x + other
        else:
            other * x


def test_not_a_dtype_raises():
    with pytest.raises(TypeError, match="dtype"):
        mg.tensor([1.0], dtype="not-a-dtype")


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_integer_and_bool_tensors_cannot_require_grad(dtype):
    with pytest.raises(TypeError, match="floating point"):
        mg.tensor([1, 0], dtype=dtype, requires_grad=True)
    with pytest.raises(TypeError, match="floating point"):
        mg.tensor([1, 0], dtype=dtype).requires_grad_()
    with pytest.raises(TypeError, match="floating point"):
        mg.zeros(2, dtype=dtype, requires_grad=True)


# ----------------------------------------------------------------- backward misuse
def test_backward_twice_raises_clearly():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.tensor([1.0, 2.0]).sum().backward()
    with mg.no_grad():
        y = mg.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_non_scalar_backward_needs_gradient():
    y = mg.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=re.escape("(2, 3)")):
        y.backward()


def test_gradient_of_wrong_shape_raises():
    y = mg.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(ValueError) as exc_info:
        y.backward(np.ones((3, 2)))
    _names_both(exc_info, (3, 2), (2, 3))
    with pytest.raises(ValueError):
        y.backward(np.ones(6))


def test_item_of_many_elements_raises():
    with pytest.raises(ValueError, match="exactly one element"):
        mg.ones(2, 2).item()


def test_wrong_gradient_count_from_a_custom_function_raises():
    from minigrad.autograd import Function

    class TwoGrads(Function):
        def forward(self, a):
            return a * 2

        def backward(self, grad):
            return grad, grad  # one input, two gradients: a bug the engine must report

    x = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="2 gradients for 1 inputs"):
        TwoGrads.apply(x).sum().backward()


# ----------------------------------------------------------------- dims and arguments
@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.sum(dim=2),
        lambda t: t.mean(dim=-3),
        lambda t: t.var(dim=(0, 5)),
        lambda t: t.amax(dim=2),
        lambda t: t.amin(dim=(1, 2)),
        lambda t: t.max(dim=2),
        lambda t: t.min(dim=-3),
        lambda t: t.squeeze(2),
        lambda t: t.unsqueeze(4),
        lambda t: t.unsqueeze(-4),
        lambda t: t.softmax(dim=2),
        lambda t: t.log_softmax(dim=-3),
        lambda t: t.transpose(0, 2),
        lambda t: t.argmax(dim=2),
    ],
)
def test_out_of_range_dims_raise_index_error(call):
    # numpy's AxisError is an IndexError (and a ValueError), like torch's "Dimension out of range"
    with pytest.raises(IndexError):
        call(mg.ones(2, 3, requires_grad=True))


@pytest.mark.parametrize(
    "call",
    [
        lambda: mg.cat([mg.ones(2, 3), mg.ones(2, 3)], dim=2),
        lambda: mg.cat([mg.ones(2, 3), mg.ones(2, 3)], dim=-3),
        lambda: mg.stack([mg.ones(2), mg.ones(2)], dim=2),
        lambda: mg.stack([mg.ones(2), mg.ones(2)], dim=-3),
        lambda: mg.ones(2, 3).transpose(0, 2),
        lambda: mg.ones(2, 3).transpose(-3, 1),
    ],
)
def test_out_of_range_dim_message_says_so(call):
    # cat/stack: the shapes match, the dim is what is wrong; transpose: not a bare list error
    with pytest.raises(IndexError, match="out of range"):
        call()


def test_transpose_of_zero_dim_accepts_dim_0_and_minus_1():
    x = mg.tensor(2.0, requires_grad=True)
    x.transpose(0, -1).backward()
    assert x.grad == 1.0


def test_repeated_dims_and_bad_permutations_raise_value_error():
    x = mg.ones(2, 3)
    with pytest.raises(ValueError, match="repeated"):
        x.sum(dim=(0, 0))
    with pytest.raises(ValueError, match="permutation"):
        x.permute(0, 0)
    with pytest.raises(ValueError, match="permutation"):
        x.permute(0, 1, 2)


def test_bad_arguments():
    x = mg.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="approximate"):
        x.gelu(approximate="fast")
    with pytest.raises(ValueError, match="min and max"):
        x.clamp()
    with pytest.raises(ValueError, match="empty"):
        mg.ones(0).amax()
    with pytest.raises(TypeError, match="boolean"):
        ~mg.ones(2)
