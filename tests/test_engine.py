"""The backward engine: traversal order and cost, gradient accumulation, graph release,
``retain_graph`` / ``retain_grad`` / ``detach``, ``requires_grad`` propagation, and the version
counters that stop in-place changes from silently corrupting gradients."""

from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import Function
from minigrad.testing import gradcheck


def leaf(values, dtype="float64"):
    return mg.tensor(values, dtype=dtype, requires_grad=True)


# ----------------------------------------------------------------- traversal
def test_chain_of_100k_ops_runs_backward_without_recursion_error():
    x = leaf([1.0, 2.0])
    y = x
    for _ in range(100_000):
        y = y * 1.0001
    y.sum().backward()
    # every one of the 100,000 nodes must have been visited: d y/dx = 1.0001^100000
    np.testing.assert_allclose(x.grad, [1.0001**100_000] * 2, rtol=1e-9)


class CountingIdentity(Function):
    """y = x, counting how often backward runs (to measure the engine's work, not its time)."""

    calls = 0

    def forward(self, a):
        return a.copy()

    def backward(self, grad):
        CountingIdentity.calls += 1
        return grad


def _diamond_ladder(x, depth):
    # y_{k+1} = f(y_k) + f(y_k): every level uses the one below twice, so there are 2^depth
    # paths from the output to x; an engine that walks paths instead of nodes is exponential
    y = x
    for _ in range(depth):
        y = CountingIdentity.apply(y) + CountingIdentity.apply(y)
    return y


@pytest.mark.parametrize("depth", [10, 40])
def test_backward_runs_each_node_exactly_once(depth):
    x = leaf([1.0])
    y = _diamond_ladder(x, depth)
    CountingIdentity.calls = 0
    y.backward()
    assert CountingIdentity.calls == 2 * depth  # nodes, not the 2^depth paths
    assert x.grad[0] == 2.0**depth


def test_backward_work_grows_linearly_with_graph_size():
    counts = []
    for depth in (100, 200, 400):
        x = leaf([1.0])
        y = _diamond_ladder(x, depth) * 0.0  # the factor keeps 2^depth from overflowing
        CountingIdentity.calls = 0
        y.backward()
        counts.append(CountingIdentity.calls)
    assert counts == [200, 400, 800]


# ----------------------------------------------------------------- graph shapes
def test_diamond_graph():
    x = leaf([0.5, -1.0])
    a = x * 2
    b, c = a * 3, a.tanh()
    (b + c).sum().backward()
    expected = 2 * 3 + 2 * (1 - np.tanh(2 * x.data) ** 2)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)
    assert gradcheck(lambda t: ((t * 2) * 3 + (t * 2).tanh()).sum(), leaf([0.5, -1.0]))


def test_reuse_of_one_tensor():
    x = leaf([3.0, -2.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data)
    x.grad = None
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    x.grad = None
    y = x * 2
    (y * y * y).sum().backward()  # 8 x^3 -> 24 x^2
    np.testing.assert_allclose(x.grad, 24 * x.data**2)


def test_gradients_accumulate_across_backward_calls_until_reset():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 3 + 2 * x.data)
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_leaf_grad_is_its_own_buffer():
    # add's backward hands one array to both inputs; each leaf must own a copy
    a, b = leaf([1.0]), leaf([2.0])
    (a + b).sum().backward()
    a.grad += 10
    assert b.grad[0] == 1.0


@pytest.mark.parametrize(
    "make_loss",
    [
        lambda a, b: (a + b).sum(),  # one array handed to both inputs
        lambda a, b: (a * b).sum(),  # two fresh arrays: kept as they are
        lambda a, b: (a + a * b + b).sum(),  # a leaf reached twice
        lambda a, b: (a.reshape(2, 3) * b.reshape(2, 3)).sum(),  # gradients through views
        lambda a, b: (a[None, :] + b[:, None]).sum(),  # broadcast gradients
    ],
)
def test_leaf_grads_never_share_memory(make_loss):
    """A leaf may keep the engine's gradient array without a copy, but only one nobody else sees."""
    a, b = leaf([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), leaf([6.0, 5.0, 4.0, 3.0, 2.0, 1.0])
    make_loss(a, b).backward()
    assert a.grad.base is None and b.grad.base is None
    assert not np.shares_memory(a.grad, b.grad)
    assert a.grad.flags.writeable and b.grad.flags.writeable
    before = b.grad.copy()
    a.grad += 100.0
    np.testing.assert_array_equal(b.grad, before)


def test_cross_entropy_gradient_on_a_leaf_is_the_kernel_buffer_not_a_copy():
    """The fused loss's (N, C) buffer becomes ``.grad`` as is; reused once ``.grad`` is reset.

    On the shared cache, isolated: it used to depend on what earlier tests had left in it.
    """
    from minigrad.kernels import buffer_cache

    with buffer_cache.isolated():
        _gradient_is_the_kernel_buffer(buffer_cache)


def _gradient_is_the_kernel_buffer(buffer_cache):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((256, 16384)).astype(np.float32)  # 16 MiB: a cached size
    target = mg.tensor(rng.integers(0, 16384, 256))
    x = mg.tensor(logits, requires_grad=True)
    mg.nn.functional.cross_entropy(x, target).backward()
    first = x.grad
    assert buffer_cache.holds(first)
    kept = first.copy()
    x.grad = None
    mg.nn.functional.cross_entropy(x, target).backward()  # `first` is still alive here
    assert x.grad is not first
    np.testing.assert_array_equal(first, kept)
    np.testing.assert_array_equal(x.grad, kept)
    del first
    hits = buffer_cache.hits
    x.grad = None
    mg.nn.functional.cross_entropy(x, target).backward()  # both earlier buffers are free now
    assert buffer_cache.hits == hits + 1
    np.testing.assert_array_equal(x.grad, kept)


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, 4 * x.data)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_backward_releases_saved_arrays_unless_retain_graph():
    for retain in (False, True):
        x = leaf(np.ones(3))
        w = mg.tensor(np.full(3, 2.0))
        ref = weakref.ref(w.data)
        y = (x * w).sum()
        del w
        gc.collect()
        assert ref() is not None  # the graph keeps what backward needs
        y.backward(retain_graph=retain)
        gc.collect()
        assert (ref() is not None) == retain


def test_backward_with_explicit_gradient():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    g = np.array([[0.5, -1.0], [2.0, 0.0]])
    (x * x).backward(gradient=g)
    np.testing.assert_array_equal(x.grad, 2 * x.data * g)
    x.grad = None
    (x * 3).backward(mg.tensor(g))  # a Tensor gradient works too
    np.testing.assert_array_equal(x.grad, 3 * g)


def test_backward_on_a_leaf():
    x = leaf([1.0, 2.0])
    x.backward(np.array([3.0, 4.0]))
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_gradient_of_a_wrong_shape_from_a_custom_function_raises():
    class TransposeForgetsToTransposeBack(Function):
        def forward(self, a):
            return a.T.copy()

        def backward(self, grad):
            return grad  # shape (2, 3) for an input of shape (3, 2): a bug, not a broadcast

    x = leaf(np.arange(6.0).reshape(3, 2))
    y = TransposeForgetsToTransposeBack.apply(x)
    with pytest.raises(RuntimeError, match=r"\(2, 3\).*\(3, 2\)"):
        y.backward(np.ones((2, 3)))


def test_none_gradient_from_a_branch():
    class Stop(Function):
        def forward(self, a):
            return a.copy()

        def backward(self, grad):
            return None  # no gradient through this op

    x = leaf([1.0, 2.0])
    Stop.apply(x).sum().backward()
    assert x.grad is None
    (Stop.apply(x) + x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


# ----------------------------------------------------------------- retain_grad, detach
def test_only_leaves_keep_grad_unless_retain_grad():
    x = leaf([1.0, 2.0])
    y = x * 3
    z = y * y
    z.retain_grad()
    (z * 2).sum().backward()
    assert y.grad is None
    np.testing.assert_array_equal(z.grad, [2.0, 2.0])
    np.testing.assert_array_equal(x.grad, 2 * 2 * 3 * y.data)
    assert x.is_leaf and not y.is_leaf


def test_retained_grad_accumulates_like_a_leaf_grad():
    # as PyTorch: a retained non-leaf .grad accumulates across backward calls
    x = leaf([1.0, 2.0])
    y = x * 2
    y.retain_grad()
    z = (y * y).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_array_equal(y.grad, 2 * (2 * y.data))


def test_retain_grad_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.tensor([1.0]).retain_grad()


def test_detach_shares_data_and_stops_gradients():
    x = leaf([1.0, 2.0])
    d = x.detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.data, x.data)
    (x * x.detach()).sum().backward()
    np.testing.assert_array_equal(x.grad, x.data)  # not 2x: the detached factor is a constant


# ----------------------------------------------------------------- requires_grad propagation
def test_requires_grad_propagates_as_in_pytorch():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0])
    assert not b.requires_grad and b.is_leaf
    for y in (a + b, b * a, a.sum(), a[0], mg.cat([a, b]), mg.where(a.data > 1, b, a)):
        assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    for y in (b + b, b.exp(), (a > 1), a.argmax(), a.long(), a.max(dim=0).indices):
        assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert (a * 2).grad_fn.name == "MulBackward"


def test_requires_grad_cannot_be_switched_off_on_a_non_leaf():
    y = mg.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="detach"):
        y.requires_grad_(False)
    x = mg.tensor([1.0], requires_grad=True).requires_grad_(False)
    assert not x.requires_grad and not (x * 2).requires_grad


def test_inputs_that_do_not_require_grad_get_no_grad():
    a, b = leaf([1.0, 2.0]), mg.tensor([3.0, 4.0], dtype="float64")
    (a * b).sum().backward()
    assert b.grad is None
    np.testing.assert_array_equal(a.grad, b.data)


# ----------------------------------------------------------------- in-place and versions
INPLACE = [
    lambda t: t.add_(1.0),
    lambda t: t.sub_(1.0, alpha=2.0),
    lambda t: t.mul_(2.0),
    lambda t: t.div_(2.0),
    lambda t: t.zero_(),
    lambda t: t.fill_(3.0),
    lambda t: t.copy_(np.ones(t.shape)),
    lambda t: t.__setitem__(0, 5.0),
    lambda t: t.__iadd__(1.0),
    lambda t: t.clamp_(max=1.5),
]


@pytest.mark.parametrize("inplace", INPLACE)
def test_inplace_on_leaf_requiring_grad_raises_in_grad_mode(inplace):
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"leaf tensor that requires grad.*no_grad"):
        inplace(x)
    np.testing.assert_array_equal(x.data, [1.0, 2.0])  # and nothing was changed
    with pytest.raises(RuntimeError, match="a view of a leaf tensor that requires grad"):
        inplace(x[:])  # a view of one too
    np.testing.assert_array_equal(x.data, [1.0, 2.0])
    # (non-leaves are recorded: tests/test_inplace.py)


@pytest.mark.parametrize("inplace", INPLACE)
def test_inplace_works_under_no_grad_and_on_plain_tensors(inplace):
    expected = np.array([1.0, 2.0])
    ref = mg.tensor(expected.copy())
    inplace(ref)  # a tensor that does not require grad: allowed in grad mode
    assert not np.array_equal(ref.data, expected)
    x = leaf(expected.copy())
    with mg.no_grad():
        out = inplace(x)
    np.testing.assert_array_equal(x.data, ref.data)
    assert out is None or out is x
    assert x.requires_grad and x.is_leaf


def test_inplace_values_match_numpy():
    t = mg.tensor([1.0, 2.0, 3.0], dtype="float64")
    t.add_(mg.tensor([1.0, 1.0, 1.0], dtype="float64"), alpha=0.5)
    t.sub_(np.array([0.5, 0.5, 0.5]))
    t *= 2
    t /= 4
    np.testing.assert_allclose(t.data, np.array([1.0, 2.0, 3.0]) / 2)
    t[1:] = mg.tensor([7.0, 8.0], dtype="float64")
    np.testing.assert_array_equal(t.data, [0.5, 7.0, 8.0])


def test_modifying_a_saved_input_raises_at_backward():
    x = leaf([1.0, 2.0])
    w = mg.tensor([3.0, 4.0], dtype="float64")
    y = (x * w).sum()  # Mul saved w for d/dx
    w.add_(1.0)  # allowed: w does not require grad
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_modifying_a_saved_output_raises_at_backward():
    x = leaf([1.0, 2.0])
    y = x.exp()  # Exp saved its output
    z = (y * 2).sum()
    with mg.no_grad():
        y.mul_(0.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()


@pytest.mark.parametrize(
    "make_view",
    [
        lambda x: x.reshape(-1),
        lambda x: x.T,
        lambda x: x[0],
        lambda x: x[:, 1:],
        lambda x: x.unsqueeze(0),
        lambda x: x.squeeze(),
        lambda x: x.detach(),
    ],
)
def test_modifying_a_view_of_a_saved_tensor_raises_at_backward(make_view):
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    z = (x * x).sum()  # saved x
    with mg.no_grad():
        y = make_view(x)
        assert np.shares_memory(y.data, x.data)
        y.mul_(2.0)  # changes x's memory through the view
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()


def test_modifying_the_base_of_a_saved_view_raises_at_backward():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    v = x.reshape(4)
    z = (v * v).sum()  # saved the view v
    with mg.no_grad():
        x.add_(1.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()


def test_inplace_on_unrelated_tensor_does_not_block_backward():
    x = leaf([1.0, 2.0])
    other = mg.tensor([5.0, 6.0], dtype="float64")
    z = (x * x).sum()
    other.add_(1.0)
    z.backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data)


def test_optimizer_style_update_then_new_graph():
    x = leaf([1.0, 2.0])
    for _ in range(3):
        loss = (x * x).sum()
        loss.backward()
        with mg.no_grad():
            x.sub_(x.grad * 0.25)
        x.grad = None
    np.testing.assert_allclose(x.data, np.array([1.0, 2.0]) * 0.5**3)


def test_float32_chain_gradient_matches_float64_closely():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((3, 4))
    grads = []
    for dtype in ("float32", "float64"):
        x = leaf(data, dtype=dtype)
        ((x.tanh() * x).softmax(dim=1).log() * 1.5).sum().backward()
        assert x.grad.dtype == np.dtype(dtype)
        grads.append(x.grad.astype(np.float64))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-4, atol=1e-5)
    assert math.isfinite(float(grads[0].sum()))


# Tensors that need no gradient but that backward reuses (index arrays, masks, the indices of
# max(dim)) must not let an in-place change silently move gradients either.
def test_changing_index_tensor_after_indexing_does_not_move_gradients():
    x = leaf([1.0, 2.0, 3.0])
    idx = mg.tensor([0, 0])
    y = x[idx]
    idx[0] = 2  # after the forward: the gradient must still go where the values came from
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 0.0])
    x.grad = None
    arr = np.array([1, 1])
    z = x[:, None][arr, 0]  # a numpy index inside a tuple key
    arr[:] = 0
    z.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 2.0, 0.0])


def test_changing_max_indices_does_not_move_gradients():
    x = leaf([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    values, indices = x.max(dim=1)
    indices.zero_()
    values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def test_changing_where_mask_in_place_raises_at_backward():
    x = leaf([1.0, -2.0, 3.0])
    mask = x > 0
    y = mg.where(mask, x, 0.0)
    mask[0] = False  # allowed (a bool tensor), but the saved mask is now stale
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()


def test_backward_lets_go_of_the_activations_while_the_loss_lives_on():
    x = mg.randn(4, 3, requires_grad=True)
    hidden = (x * 2).tanh()
    probe = weakref.ref(hidden)
    loss = (hidden * hidden).sum()
    del hidden
    loss.backward()
    gc.collect()
    assert probe() is None  # `loss` still exists, but the intermediate tensor is gone
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()  # the graph's links survive, so the error is still the clear one
