"""The Tensor object itself: construction, dtypes, properties, creation functions, and Python
scalars / numpy arrays mixed into binary ops on either side."""

from __future__ import annotations

import operator

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.testing import broadcastable_shapes, safe_floats, tensors
from tests.autograd_support import check_op

# ----------------------------------------------------------------- construction and dtypes


@pytest.mark.parametrize(
    ("data", "dtype"),
    [
        (1.5, np.float32),
        ([1.0, 2.0], np.float32),
        ([[1, 2], [3, 4]], np.int64),
        (3, np.int64),
        ([True, False], np.bool_),
        (np.arange(3.0), np.float64),  # numpy arrays keep their dtype
        (np.arange(3, dtype=np.int32), np.int32),
        (np.ones(2, dtype=np.float32), np.float32),
    ],
)
def test_default_dtypes(data, dtype):
    assert mg.tensor(data).dtype == dtype
    assert mg.Tensor(data).dtype == dtype


def test_explicit_dtype_and_float64_is_preserved():
    x = mg.tensor([1, 2], dtype=mg.float64)
    assert x.dtype == np.float64
    assert (x * 2).dtype == np.float64
    assert mg.tensor([1.5], dtype="float64").dtype == np.float64
    assert mg.tensor(np.float64(2.5), dtype=np.float32).dtype == np.float32


def test_tensor_copies_and_from_numpy_shares():
    a = np.zeros(3)
    t, shared = mg.tensor(a), mg.from_numpy(a)
    a[0] = 5.0
    assert t.data[0] == 0.0 and shared.data[0] == 5.0
    assert t.numpy() is t.data  # numpy() gives the array itself, as torch's .numpy()
    with pytest.raises(TypeError, match="ndarray"):
        mg.from_numpy([1.0, 2.0])


def test_tensor_of_tensor_copies_data_and_drops_the_graph():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = mg.tensor(x * 2)
    assert y.is_leaf and not y.requires_grad
    np.testing.assert_array_equal(y.data, [2.0, 4.0])


def test_properties():
    x = mg.tensor(np.arange(24.0).reshape(2, 3, 4))
    assert x.shape == (2, 3, 4) and x.ndim == 3 and x.dim() == 3
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert x.numel() == 24 and len(x) == 2
    assert x.tolist() == np.arange(24.0).reshape(2, 3, 4).tolist()
    assert mg.tensor([[2.5]]).item() == 2.5 and isinstance(mg.tensor([[2.5]]).item(), float)
    assert mg.tensor(7).item() == 7 and isinstance(mg.tensor(7).item(), int)
    assert float(mg.tensor(2.0)) == 2.0 and int(mg.tensor(3)) == 3
    assert [10, 20, 30][mg.tensor(1)] == 20  # __index__
    assert bool(mg.tensor([1.0])) and not bool(mg.tensor(0.0))


def test_repr_mentions_grad_state():
    assert "requires_grad=True" in repr(mg.tensor([1.0], requires_grad=True))
    assert "MulBackward" in repr(mg.tensor([1.0], requires_grad=True) * 2)
    assert "float64" in repr(mg.tensor([1.0], dtype="float64"))
    assert repr(mg.tensor([1.0, 2.0])).startswith("tensor(")


def test_creation_functions():
    assert mg.zeros(2, 3).shape == (2, 3) and mg.zeros((2, 3)).dtype == np.float32
    np.testing.assert_array_equal(mg.ones(2).data, [1.0, 1.0])
    assert mg.ones(2, dtype=mg.float64).dtype == np.float64
    np.testing.assert_array_equal(mg.full((2,), 7.0).data, [7.0, 7.0])
    assert mg.randn(3, 4).shape == (3, 4) and mg.randn(3).dtype == np.float32
    r = mg.rand(1000).data
    assert r.min() >= 0.0 and r.max() < 1.0
    ri = mg.randint(0, 5, (100,))
    assert ri.dtype == np.int64 and ri.data.min() >= 0 and ri.data.max() < 5
    np.testing.assert_array_equal(mg.arange(5).data, np.arange(5))
    assert mg.arange(5).dtype == np.int64 and mg.arange(0.0, 1.0, 0.25).dtype == np.float32
    x = mg.tensor([[1, 2]], dtype=mg.float64)
    assert mg.zeros_like(x).dtype == np.float64 and mg.ones_like(x).shape == (1, 2)
    w = mg.zeros(3, requires_grad=True)
    assert w.requires_grad and w.is_leaf


def test_manual_seed_is_reproducible():
    mg.manual_seed(123)
    a = mg.randn(5).data.copy()
    mg.manual_seed(123)
    np.testing.assert_array_equal(mg.randn(5).data, a)


def test_len_of_zero_dim_and_item_of_many_raise():
    with pytest.raises(TypeError):
        len(mg.tensor(1.0))
    with pytest.raises(ValueError, match=r"\(2,\)"):
        mg.tensor([1.0, 2.0]).item()
    with pytest.raises(ValueError, match="ambiguous"):
        bool(mg.tensor([1.0, 2.0]))


# ----------------------------------------------------------------- dtype rules in ops


def test_python_scalars_keep_float32():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    for y in (x * 0.5, 0.5 * x, x + 1, 2 - x, x / 3, 1 / x, x**2, 2**x, x**0.5, -x):
        assert y.dtype == np.float32, y


def test_numpy_scalars_take_the_tensor_dtype():
    # a numpy float64 scalar is a non-tensor operand like a Python float: x stays float32
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    for y in (x * np.float64(0.5), np.float64(0.5) * x, x + np.float64(1.0), x ** np.float64(2)):
        assert y.dtype == np.float32, y
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_numpy_arrays_take_the_tensor_dtype():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert (x + np.array([1.0, 2.0])).dtype == np.float32
    assert (np.array([1.0, 2.0]) * x).dtype == np.float32
    assert (x + np.array([1, 2])).dtype == np.float32


def test_mixed_precision_tensors_promote_and_grads_keep_leaf_dtype():
    a = mg.tensor([1.0, 2.0], requires_grad=True)  # float32
    b = mg.tensor([3.0, 4.0], dtype=mg.float64, requires_grad=True)
    y = a * b
    assert y.dtype == np.float64
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])
    np.testing.assert_array_equal(b.grad, [1.0, 2.0])


def test_integer_tensors():
    i = mg.tensor([1, 2, 3])
    assert (i + 1).dtype == np.int64 and (i * i).dtype == np.int64
    assert not (i * 2).requires_grad
    np.testing.assert_array_equal((i + mg.tensor([0.5, 0.5, 0.5])).data, [1.5, 2.5, 3.5])
    x = mg.tensor([1.0, 1.0, 1.0], requires_grad=True)
    (x * i).sum().backward()  # an integer input gets no gradient; the float one does
    np.testing.assert_array_equal(x.grad, [1.0, 2.0, 3.0])
    assert i.grad is None


# ----------------------------------------------------------------- scalars, arrays on either side

OPS = {
    "add": (operator.add, np.add),
    "sub": (operator.sub, np.subtract),
    "mul": (operator.mul, np.multiply),
    "div": (operator.truediv, np.true_divide),
    "pow": (operator.pow, np.power),
}


@pytest.mark.parametrize("name", OPS)
@given(
    shapes=broadcastable_shapes(),
    kind=st.sampled_from(["float", "int", "array"]),
    tensor_on_left=st.booleans(),
    data=st.data(),
)
def test_scalars_and_numpy_arrays_on_either_side(name, shapes, kind, tensor_on_left, data):
    op, reference = OPS[name]
    positive = name == "pow"  # the base of a real power with a tensor exponent must be > 0
    if kind == "float":
        other = data.draw(safe_floats(positive=positive and not tensor_on_left))
    elif kind == "int":
        other = data.draw(st.integers(1, 3) if positive else st.integers(-3, 3).filter(bool))
    else:
        other = data.draw(
            tensors(
                shapes[1],
                requires_grad=False,
                elements=safe_floats(positive=positive and not tensor_on_left),
            )
        ).data
    base_positive = positive and tensor_on_left and not (kind == "int")
    x = data.draw(tensors(shapes[0], elements=safe_floats(positive=base_positive)))
    if tensor_on_left:
        check_op(lambda t: op(t, other), lambda a: reference(a, other), x)
    else:
        check_op(lambda t: op(other, t), lambda a: reference(other, a), x)


@pytest.mark.parametrize("method", ["maximum", "minimum"])
@given(shapes=broadcastable_shapes(), data=st.data())
def test_maximum_minimum_with_numpy_and_scalar(method, shapes, data):
    x = data.draw(tensors(shapes[0]))
    other = data.draw(tensors(shapes[1], requires_grad=False)).data
    assume(np.all(np.abs(x.data - other) > 1e-3))
    check_op(lambda t: getattr(t, method)(other), lambda a: getattr(np, method)(a, other), x)
    # the scalar is another value: x may sit exactly on it (a tie, where the gradient jumps and
    # finite differences of the double backward see the jump), so it is kept away from x too
    c = float(other.flat[0])
    if np.all(np.abs(x.data - c) > 1e-3):
        check_op(lambda t: getattr(t, method)(c), lambda a: getattr(np, method)(a, c), x)


def test_numpy_array_on_the_left_gives_a_tensor_not_an_object_array():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    for y in (np.array([3.0, 4.0]) + x, np.array([3.0, 4.0]) @ x, np.array(2.0) ** x):
        assert isinstance(y, mg.Tensor) and y.requires_grad
    (np.array([3.0, 4.0]) * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_method_aliases():
    x = mg.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    np.testing.assert_array_equal(x.add(1).data, [2.0, 3.0])
    np.testing.assert_array_equal(x.sub(1).data, [0.0, 1.0])
    np.testing.assert_array_equal(x.mul(2).data, [2.0, 4.0])
    np.testing.assert_array_equal(x.div(2).data, [0.5, 1.0])
    np.testing.assert_array_equal(x.pow(2).data, [1.0, 4.0])
    np.testing.assert_array_equal(x.neg().data, [-1.0, -2.0])
    np.testing.assert_array_equal((+x).data, x.data)
    np.testing.assert_array_equal(x.clip(0.0, 1.5).data, [1.0, 1.5])
    np.testing.assert_array_equal(x.flatten().data, x.data)
    assert mg.zeros(2, 3, 4).flatten(1).shape == (2, 12)
    assert x.contiguous() is x


def test_an_array_operand_is_copied_so_later_changes_do_not_leak_into_the_gradient():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    arr = np.array([2.0, 2.0, 2.0], dtype=np.float32)
    y = (x * arr).sum()
    arr[:] = 100.0
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])


@pytest.mark.parametrize(
    "expr",
    [
        lambda i, f: i / 2,
        lambda i, f: i * 0.5,
        lambda i, f: i / i,
        lambda i, f: i.sqrt(),
        lambda i, f: i.exp(),
        lambda i, f: 0.5**i,
        lambda i, f: i + f,
        lambda i, f: f * i,
    ],
)
def test_integers_become_float32_not_float64_as_in_pytorch(expr):
    i, f = mg.tensor([1, 2, 3]), mg.tensor([0.5, 1.5, 2.5])
    out = expr(i, f)
    assert out.dtype == np.float32
    torch = pytest.importorskip("torch")
    ti, tf = torch.tensor([1, 2, 3]), torch.tensor([0.5, 1.5, 2.5])
    assert str(expr(ti, tf).dtype) == "torch.float32"
    np.testing.assert_allclose(out.data, expr(ti, tf).numpy(), rtol=1e-6)


def test_float64_stays_float64_and_integer_results_stay_integer():
    d = mg.tensor([1.0, 2.0], dtype="float64")
    i = mg.tensor([1, 2])
    assert (d * 0.5).dtype == np.float64 and (d / i).dtype == np.float64
    assert (i + 1).dtype == np.int64 and (2**i).dtype == np.int64
