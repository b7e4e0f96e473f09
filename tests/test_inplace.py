"""In-place ops on tensors that require grad, as PyTorch records them (issue 18.3).

On a non-leaf an in-place op is recorded: it becomes the tensor's ``grad_fn``, uses recorded
before keep their history, and the version counter still protects what earlier ops kept.  On a
view it rewrites its base's history and every other view's.  Leaves that require grad (and their
views) refuse.  Random op sequences are compared with PyTorch here and in the GraphMachine
(``tests/test_graph_machine.py``); every recorded path is gradchecked in float64.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.testing import assert_matches_torch, gradcheck

#: values away from 0 (division) and from each other's bounds: exact kinks are compared below
VALUES = st.sampled_from([-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0])


def leaf(values, dtype="float64"):
    return mg.tensor(values, dtype=dtype, requires_grad=True)


def _torch():
    return pytest.importorskip("torch", reason="differential test: needs PyTorch")


# ----------------------------------------------------------------- what is recorded, and errors
def test_micrograds_own_test_on_tensors_matches_torch():
    """micrograd's ``test_more_ops`` (``c += c + 1`` and the rest), on tensors."""

    def program(a, b):
        c = a + b
        d = a * b + b**3
        c += c + 1
        c += 1 + c + (-a)
        d += d * 2 + (b + a).relu()
        d += 3 * d + (b - a).relu()
        e = c - d
        f = e**2
        g = f / 2.0
        g += 10.0 / f
        return g

    a, b = leaf([-4.0, 1.5]), leaf([2.0, -0.5])
    out = program(a, b)
    assert out.grad_fn is not None and not out.is_leaf
    assert_matches_torch(program, program, a, b)


def test_inplace_on_a_non_leaf_becomes_its_grad_fn_and_scales_the_gradient():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2
    y += 1
    assert type(y.grad_fn).__name__ == "Add" and not y.is_leaf
    y.mul_(3)
    y.sum().backward()  # Mul of x * 2 kept x and 2, not y: nothing stale
    np.testing.assert_array_equal(x.grad, [6.0, 6.0, 6.0])


def test_uses_recorded_before_an_inplace_op_keep_their_history():
    x = leaf([1.0, 2.0])
    y = x * 1
    z = y + 1  # z = x + 1, whatever happens to y later
    y.mul_(5)
    z.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


@pytest.mark.parametrize(
    "make, saved",
    [
        (lambda x: x.exp(), True),  # exp keeps its output
        (lambda x: x.tanh(), True),
        (lambda x: x.sigmoid(), True),
        (lambda x: x.sqrt(), True),
        (lambda x: x * 2, False),  # mul keeps x and 2, not its output
        (lambda x: x + 1, False),
        (lambda x: x.sum(dim=0, keepdim=True) * 1, False),
    ],
)
def test_a_saved_output_changed_in_place_refuses_backward_as_torch_does(make, saved):
    torch = _torch()
    outcomes = []
    for x in (leaf([0.5, 2.0]), torch.tensor([0.5, 2.0], dtype=torch.float64, requires_grad=True)):
        y = make(x)
        y += 1
        try:
            y.sum().backward()
            outcomes.append(None)
        except RuntimeError as exc:
            outcomes.append(str(exc))
    assert (outcomes[0] is not None) == (outcomes[1] is not None) == saved, outcomes
    if saved:
        assert "modified in place" in outcomes[0]


def test_a_0d_saved_output_changed_in_place_refuses_too():
    # numpy's math on 0-d arrays returns scalars: the op's kept scalar is still its output
    x = leaf(0.5)
    y = x.sigmoid()
    y += 1
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_mul_by_itself_in_place_refuses_backward_as_torch_does():
    x = leaf([1.0, 2.0])
    y = x * 1
    y.mul_(y)  # Mul kept y as its second operand, then overwrote it
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()
    y = x * 1
    y.add_(y)  # Add keeps nothing: fine, and y = 2 (x * 1)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_leaves_and_views_of_leaves_refuse_with_grad_mode_on():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    for target in (x, x[0], x.T, x.reshape(4)):
        with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
            target.add_(1.0)
    np.testing.assert_array_equal(x.data, [[1.0, 2.0], [3.0, 4.0]])
    with mg.no_grad():
        x[0].add_(1.0)  # optimizers do this
    np.testing.assert_array_equal(x.data, [[2.0, 3.0], [3.0, 4.0]])


def test_a_view_made_under_no_grad_refuses_a_recorded_change():
    x = leaf([1.0, 2.0])
    y = x * 1
    with mg.no_grad():
        v = y[:1]
    v.add_(1.0)  # a constant: nothing to record, allowed
    w = leaf([5.0])
    with pytest.raises(RuntimeError, match="view made under no_grad"):
        v.add_(w)


def test_a_constant_changed_by_a_tensor_that_requires_grad_joins_the_graph():
    torch = _torch()

    def program(w, zeros):
        c = zeros(3, dtype=w.dtype)
        v = c[1:]
        c.add_(w, alpha=2.0)  # c did not require grad: it does now, as in torch
        # and so does its view (torch rebuilds a view's history when it is read, and refuses
        # v.mul_ as "a leaf" unless something read it first; minigrad rebuilds it on every use)
        assert not v.is_leaf
        v.mul_(w[1:])
        return c, v

    w = leaf([1.0, -2.0, 3.0])
    c, v = program(w, mg.zeros)
    assert c.requires_grad and not c.is_leaf and v.requires_grad and not v.is_leaf
    assert_matches_torch(
        lambda w: program(w, mg.zeros), lambda w: program(w, torch.zeros), leaf([1.0, -2.0, 3.0])
    )


def test_retain_grad_moves_to_the_inplace_op_as_in_torch():
    x = leaf([1.0, 2.0])
    y = x * 1
    y.retain_grad()
    y.mul_(2)
    (y * 3).sum().backward()
    np.testing.assert_array_equal(y.grad, [3.0, 3.0])  # d/d(new y), not d/d(old y)
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])


def test_inplace_on_a_view_rebases_its_base_and_the_other_views():
    x = leaf([1.0, 2.0, 3.0])
    b = x * 1
    v, w = b[:2], b[1:]
    v.mul_(3)
    assert type(b.grad_fn).__name__ == "CopySlices"
    np.testing.assert_array_equal(w.data, [6.0, 3.0])
    # w's history comes from the new b: its first element went through mul_
    w.sum().backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad, [0.0, 3.0, 1.0])
    x.grad = None
    b.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0, 1.0])


def test_setitem_and_copy_and_fill_record_zero_gradient_for_what_they_overwrite():
    x, w = leaf([1.0, 2.0, 3.0]), leaf([7.0, 8.0])
    y = x * 1
    y[[0, 0]] = w  # a repeated index: both copies of w get the gradient of row 0, as torch
    y[2:].fill_(4.0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(w.grad, [1.0, 1.0])
    x.grad = w.grad = None
    y = x * 1
    y[1:].copy_(w)
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 0.0])
    np.testing.assert_array_equal(w.grad, [14.0, 16.0])


def test_a_failed_inplace_op_changes_nothing():
    x = leaf([1.0, 2.0])
    y = x * 1
    fn = y.grad_fn
    with pytest.raises(ValueError, match="shape"):
        y.add_(leaf([1.0, 2.0, 3.0]))
    assert y.grad_fn is fn and y._version[0] == 0
    np.testing.assert_array_equal(y.data, [1.0, 2.0])
    i = mg.tensor([1, 2])
    with pytest.raises(ValueError, match="dtype int64"):
        i.add_(leaf([0.5, 0.5]))  # a float result does not fit an int tensor
    assert not i.requires_grad and i.tolist() == [1, 2]


# ----------------------------------------------------------------- random programs vs torch
#: (name, how to run it on a target view t with operand w): the same code runs on both
STEPS = {
    "add_(c)": lambda t, w: t.add_(0.5),
    "sub_(w, alpha)": lambda t, w: t.sub_(w, alpha=1.5),
    "mul_(c)": lambda t, w: t.mul_(-2.0),
    "mul_(w)": lambda t, w: t.mul_(w),
    "div_(w)": lambda t, w: t.div_(w),
    "clamp_": lambda t, w: t.clamp_(-1.0, 1.5),
    "fill_": lambda t, w: t.fill_(0.25),
    "zero_": lambda t, w: t.zero_(),
    "copy_(w)": lambda t, w: t.copy_(w),
    "t[..., 0] = c": lambda t, w: t.__setitem__((..., 0), 3.0),
    "t[..., 1:] = w": lambda t, w: t.__setitem__((..., slice(1, None)), w[..., 1:]),
    "t[..., [0, 0]] = w": lambda t, w: t.__setitem__((..., [0, 0]), w[..., :1]),
}
#: where a step lands: y itself or a view of it (taken fresh, or the one taken at the start)
TARGETS = {
    "y": lambda y, held: y,
    "y[0]": lambda y, held: y[0],
    "y[1:]": lambda y, held: y[1:],
    "y.T": lambda y, held: y.T,
    "y.reshape(1, 2, 3)[0]": lambda y, held: y.reshape(1, 2, 3)[0],
    "held = y[:, 1:]": lambda y, held: held,
}


@pytest.mark.torch
@given(
    x=hnp.arrays(np.float64, (2, 3), elements=VALUES),
    w=hnp.arrays(np.float64, (3,), elements=VALUES),
    steps=st.lists(
        st.tuples(st.sampled_from(sorted(TARGETS)), st.sampled_from(sorted(STEPS))),
        min_size=1,
        max_size=5,
    ),
    consume=st.lists(st.booleans(), min_size=5, max_size=5),
)
def test_random_inplace_programs_match_torch(x, w, steps, consume):
    """Values and gradients of x and w after in-place steps on y = x * 1 and its views, with
    some uses of y recorded between the steps (their history must not change)."""
    _torch()

    def program(x, w):
        y = x * 1.0
        held = y[:, 1:]
        outs = [y]
        for (target, step), use in zip(steps, consume):
            t = TARGETS[target](y, held)
            wt = w.reshape(3, 1) if t.shape[-1] != 3 else w
            if t.shape[-1] == 2:  # held: two columns
                wt = w[1:]
            STEPS[step](t, wt)
            if use:
                outs.append((y + 1.5).tanh())
        outs.append(held * 2)
        return outs

    assert_matches_torch(program, program, leaf(x), leaf(w))


@given(
    x=hnp.arrays(np.float64, (2, 3), elements=VALUES),
    w=hnp.arrays(np.float64, (3,), elements=VALUES),
)
def test_recorded_inplace_paths_pass_gradcheck(x, w):
    def program(x, w):
        y = x * x
        y[0].mul_(w)  # a view: CopySlices and ViewOfBase
        y.div_(w)
        y.clamp_(-3.0, 3.0)
        y[:, 1:] = w[1:] * 2
        y.add_(w, alpha=-0.5)
        return y.tanh()

    # (values sit away from the clamp bounds: differences there would cross the kink)
    clamped = (x * x).copy()
    clamped[0] *= w
    clamped /= w
    if np.min(np.abs(np.abs(clamped) - 3.0)) < 1e-3:
        return
    assert gradcheck(program, leaf(x), leaf(w))
