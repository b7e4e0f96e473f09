"""Shape ops, indexing, cat/stack and matmul: forward equals numpy, backward equals finite
differences.  Shape ops only move elements, so their gradients move back; indexing with repeated
integer indices must add the gradients of the repeats (a dedicated test)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.testing import gradcheck, matmul_shapes, shapes, tensors
from tests.autograd_support import check_op, matmul_atol


@st.composite
def reshape_targets(draw, shape):
    """A shape with the same number of elements, sometimes with one -1."""
    size = int(np.prod(shape))
    factors = [f for f in range(1, size + 1) if size % f == 0]
    first = draw(st.sampled_from(factors))
    rest = size // first
    options = [(size,), (first, rest), (rest, 1, first), (*tuple(reversed(shape)),), ()]
    target = draw(st.sampled_from([o for o in options if int(np.prod(o)) == size]))
    if target and draw(st.booleans()):
        i = draw(st.integers(0, len(target) - 1))
        target = target[:i] + (-1,) + target[i + 1 :]
    return target


@pytest.mark.parametrize("method", ["reshape", "view"])
@given(x=tensors(), data=st.data())
def test_reshape_view(method, x, data):
    target = data.draw(reshape_targets(x.shape))
    as_target = x.data.reshape(target)
    if method == "view" and as_target.size and not np.may_share_memory(as_target, x.data):
        # (x may be a non-contiguous view, as tensors() sometimes makes): no view exists
        with pytest.raises(RuntimeError, match="reshape"):
            x.view(target)
        return
    check_op(lambda t: getattr(t, method)(target), lambda a: a.reshape(target), x)
    if target:
        check_op(lambda t: getattr(t, method)(*target), lambda a: a.reshape(target), x)


@given(x=tensors(shape=shapes(min_dims=1)), data=st.data())
def test_transpose(x, data):
    d0 = data.draw(st.integers(-x.ndim, x.ndim - 1))
    d1 = data.draw(st.integers(-x.ndim, x.ndim - 1))
    check_op(lambda t: t.transpose(d0, d1), lambda a: np.swapaxes(a, d0, d1), x)


@given(x=tensors(), data=st.data())
def test_permute_and_T(x, data):
    perm = tuple(data.draw(st.permutations(range(x.ndim))))
    check_op(lambda t: t.permute(perm), lambda a: a.transpose(perm), x)
    check_op(lambda t: t.permute(*perm), lambda a: a.transpose(perm), x)
    check_op(lambda t: t.T, lambda a: a.T, x)


@given(x=tensors(shape=shapes(min_dims=2)))
def test_mT(x):
    check_op(lambda t: t.mT, lambda a: np.swapaxes(a, -1, -2), x)


@given(x=tensors(shape=shapes(min_side=1, max_side=2, max_dims=4)), data=st.data())
def test_squeeze(x, data):
    check_op(lambda t: t.squeeze(), np.squeeze, x)
    if x.ndim:
        dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
        # like PyTorch: a dim whose size is not 1 is left alone (numpy would raise)
        expected = x.shape if x.shape[dim] != 1 else np.squeeze(x.data, dim).shape
        check_op(lambda t: t.squeeze(dim), lambda a: a.reshape(expected), x)


@given(x=tensors(), data=st.data())
def test_unsqueeze(x, data):
    dim = data.draw(st.integers(-x.ndim - 1, x.ndim))
    check_op(lambda t: t.unsqueeze(dim), lambda a: np.expand_dims(a, dim), x)


@st.composite
def expand_targets(draw, shape):
    """A shape that ``shape`` broadcasts to: size-1 dims grow, new leading dims appear."""
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    body = tuple(draw(st.integers(1, 3)) if n == 1 else n for n in shape)
    return lead + body


@given(x=tensors(), data=st.data())
def test_expand_broadcast_to(x, data):
    target = data.draw(expand_targets(x.shape))
    check_op(lambda t: t.broadcast_to(target), lambda a: np.broadcast_to(a, target), x)
    check_op(lambda t: t.expand(*target), lambda a: np.broadcast_to(a, target), x)
    # -1 keeps a dimension, as in torch.Tensor.expand
    lead = len(target) - x.ndim
    with_minus = tuple(
        -1 if i >= lead and n == x.shape[i - lead] and data.draw(st.booleans()) else n
        for i, n in enumerate(target)
    )
    check_op(lambda t: t.expand(with_minus), lambda a: np.broadcast_to(a, target), x)
    y = mg.zeros(target)
    check_op(lambda t: t.expand_as(y), lambda a: np.broadcast_to(a, target), x)


@given(
    base=shapes(min_dims=1),
    sizes=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    data=st.data(),
)
def test_cat(base, sizes, data):
    dim = data.draw(st.integers(-len(base), len(base) - 1))
    parts = []
    for n in sizes:
        shape = list(base)
        shape[dim] = n
        parts.append(data.draw(tensors(tuple(shape))))
    check_op(lambda *ts: mg.cat(list(ts), dim=dim), lambda *a: np.concatenate(a, axis=dim), *parts)


@given(shape=shapes(), count=st.integers(1, 3), data=st.data())
def test_stack(shape, count, data):
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    parts = [data.draw(tensors(shape)) for _ in range(count)]
    check_op(lambda *ts: mg.stack(ts, dim=dim), lambda *a: np.stack(a, axis=dim), *parts)


# ----------------------------------------------------------------- indexing
@given(x=tensors(shape=shapes(min_dims=1)), data=st.data())
def test_getitem_basic(x, data):
    # slices (any step, negative too), ints, None and Ellipsis
    key = data.draw(hnp.basic_indices(x.shape, allow_newaxis=True, allow_ellipsis=True))
    check_op(lambda t: t[key], lambda a: a[key], x)


@given(x=tensors(shape=shapes(min_dims=1)), data=st.data())
def test_getitem_integer_arrays(x, data):
    # integer arrays may repeat an index: the gradients of repeats must add up
    key = data.draw(hnp.integer_array_indices(x.shape, result_shape=shapes(max_dims=2)))
    check_op(lambda t: t[key], lambda a: a[key], x)


@given(x=tensors(shape=shapes(min_dims=1)), data=st.data())
def test_getitem_boolean_mask(x, data):
    mask = data.draw(hnp.arrays(np.bool_, x.shape))
    check_op(lambda t: t[mask], lambda a: a[mask], x)
    check_op(lambda t: t[mg.tensor(mask)], lambda a: a[mask], x)  # a bool Tensor as the key


@given(x=tensors(shape=shapes(min_dims=2)), data=st.data())
def test_getitem_mixed_slice_and_integer_array(x, data):
    cols = data.draw(
        hnp.arrays(np.int64, st.integers(1, 5), elements=st.integers(-x.shape[1], x.shape[1] - 1))
    )
    check_op(lambda t: t[:, cols], lambda a: a[:, cols], x)
    check_op(lambda t: t[None, 0:1, cols.tolist(), ...], lambda a: a[None, 0:1, cols, ...], x)


@example(index=[0, 0, 0, 2])
@given(index=st.lists(st.integers(0, 3), min_size=1, max_size=12))
def test_repeated_integer_indices_accumulate_their_gradients(index):
    x = mg.tensor(
        [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], dtype="float64", requires_grad=True
    )
    weights = np.arange(1.0, len(index) + 1)[:, None] * np.array([1.0, 10.0])
    (x[np.array(index)] * weights).sum().backward()
    expected = np.zeros((4, 2))
    for position, row in enumerate(index):
        expected[row] += weights[position]  # every use of row `row` adds its own gradient
    np.testing.assert_array_equal(x.grad, expected)
    # the same with a Python list and with a Tensor of indices
    for key in (index, mg.tensor(index)):
        x.grad = None
        (x[key] * weights).sum().backward()
        np.testing.assert_array_equal(x.grad, expected)


def test_getitem_int_gives_row_and_iterates():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    rows = list(x)
    assert len(rows) == 2 and rows[1].shape == (2,)
    (rows[0] * 2 + rows[1] * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [[2.0, 2.0], [3.0, 3.0]])


# ----------------------------------------------------------------- matmul
@given(shapes=matmul_shapes(), data=st.data())
def test_matmul(shapes, data):
    a, b = data.draw(tensors(shapes[0])), data.draw(tensors(shapes[1]))
    check_op(lambda x, y: x @ y, np.matmul, a, b)
    check_op(lambda x, y: x.matmul(y), np.matmul, a, b)


@pytest.mark.parametrize(
    ("sa", "sb"),
    [
        ((3,), (3,)),
        ((3,), (3, 2)),
        ((2, 3), (3,)),
        ((4, 2, 3), (3,)),
        ((3,), (4, 3, 2)),
        ((2, 1, 2, 3), (5, 3, 2)),
    ],
)
def test_matmul_vector_and_batch_cases(sa, sb):
    # (3,) @ (3,) is a regression test: the 0-d gradient of vector @ vector crashed backward
    rng = np.random.default_rng(0)
    a = mg.tensor(rng.standard_normal(sa), requires_grad=True)
    b = mg.tensor(rng.standard_normal(sb), requires_grad=True)
    check_op(lambda x, y: x @ y, np.matmul, a, b)


@given(shapes=matmul_shapes(), data=st.data())
def test_matmul_with_numpy_operand_on_either_side(shapes, data):
    a = data.draw(tensors(shapes[0]))
    b = data.draw(tensors(shapes[1], requires_grad=False)).data
    check_op(lambda x: x @ b, lambda x: np.matmul(x, b), a, atol=matmul_atol(a.data, b))
    c = data.draw(tensors(shapes[1]))
    a_arr = a.data
    check_op(lambda y: a_arr @ y, lambda y: np.matmul(a_arr, y), c, atol=matmul_atol(a_arr, c.data))


def test_matmul_forward_allows_the_rounding_of_another_summation_order():
    # found by CI: (2,) @ (2, 2, 2, 4) with 0.1*0.1 + 0.1*-0.1 in one column came out 0.0 here
    # and -8.3e-19 from np.matmul (another kernel, another order); both are correctly rounded
    # sums of the same terms, so the forward check allows the dot product's error bound
    a = mg.tensor([0.1, 0.1], dtype="float64", requires_grad=True)
    b = np.ones((2, 2, 2, 4))
    b[1, 1, :, 3] = [0.1, -0.1]
    assert matmul_atol(a.data, b) > 8.4e-19  # the gap CI saw, whichever order runs here
    check_op(lambda x: x @ b, lambda x: np.matmul(x, b), a, atol=matmul_atol(a.data, b))


def test_gradcheck_through_shape_ops_chain():
    x = mg.tensor(np.arange(24.0).reshape(2, 3, 4) / 10, dtype="float64", requires_grad=True)

    def f(t):
        u = t.permute(2, 0, 1).reshape(4, 6)[1:, ::2].unsqueeze(0).expand(2, 3, 3)
        return mg.cat([u, u.mT], dim=-1)[:, None, ..., np.array([0, 0, 5])].squeeze(1) * t.sum()

    assert gradcheck(f, x)
