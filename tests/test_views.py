"""``view`` shares memory or raises; ``reshape`` copies when it must (issue 18.4).

Compared with PyTorch on random layouts (transposes, strided slices) and target shapes: ``view``
raises exactly where torch's does, and ``reshape`` shares memory exactly where torch's does.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.testing import gradcheck


def _torch():
    return pytest.importorskip("torch", reason="differential test: needs PyTorch")


@st.composite
def layouts(draw):
    """(shape, permutation, slices, target shape): a tensor laid out in some order in memory,
    and a shape with the same number of elements to see it as."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    perm = tuple(draw(st.permutations(range(len(shape)))))
    steps = tuple(draw(st.sampled_from([1, 1, 2])) for _ in shape)
    sliced = tuple(math.ceil(shape[p] / s) for p, s in zip(perm, steps))
    n = math.prod(sliced)
    target = []
    rest = n
    while rest > 1 and len(target) < 3:
        d = draw(st.sampled_from([k for k in range(1, rest + 1) if rest % k == 0]))
        target.append(d)
        rest //= d
    target.append(rest)
    if draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return shape, perm, steps, tuple(target)


def _make(lib, shape, perm, steps):
    base = lib.arange(math.prod(shape), dtype=lib.float64).reshape(shape)
    t = base.permute(*perm)
    return base, t[tuple(slice(None, None, s) for s in steps)]


def _shares(lib, a, b) -> bool:
    if lib is mg:
        return np.shares_memory(a.data, b.data)
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


@pytest.mark.torch
@given(layouts())
def test_view_raises_exactly_where_torch_does_and_reshape_shares_memory_where_torch_does(layout):
    torch = _torch()
    shape, perm, steps, target = layout
    outcomes = []
    for lib in (mg, torch):
        base, t = _make(lib, shape, perm, steps)
        try:
            v = t.view(*target)
        except RuntimeError:
            viewed = False
        else:
            viewed = True
            assert _shares(lib, v, base)
            v.mul_(-1)  # written through the view: the base sees it
        r = t.reshape(*target)
        np.testing.assert_array_equal(
            np.asarray(r.tolist()).ravel(), np.asarray(t.tolist()).ravel()
        )
        outcomes.append((viewed, _shares(lib, r, base), np.asarray(base.tolist())))
    (mg_view, mg_shared, mg_base), (th_view, th_shared, th_base) = outcomes
    assert mg_view == th_view
    assert mg_shared == th_shared
    np.testing.assert_array_equal(mg_base, th_base)


def test_a_transposed_view_refuses_and_says_what_to_do():
    x = mg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"view\(6\).*reshape"):
        x.permute(1, 0).view(6)
    y = x.permute(1, 0).reshape(6)  # a copy: a later change of x does not reach it
    with mg.no_grad():
        x.add_(1.0)
    np.testing.assert_array_equal(y.data, [0.0, 3.0, 1.0, 4.0, 2.0, 5.0])
    assert x.permute(1, 0).contiguous().view(6).tolist() == [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
    assert x.contiguous() is x and x.is_contiguous() and not x.T.is_contiguous()


def test_a_reshape_that_copies_does_not_share_the_version_counter():
    x = mg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x.T.reshape(6) * 1  # reshape copied: y's Mul kept a copy
    with mg.no_grad():
        x.add_(1.0)
    y.sum().backward()  # nothing stale


def test_integer_indexing_down_to_one_element_is_a_view_as_in_torch():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    e = x[1, 0]
    assert e.shape == () and np.shares_memory(e.data, x.data)
    e.add_(10.0)
    assert x.tolist() == [[1.0, 2.0], [13.0, 4.0]]
    x[0][1].mul_(-1.0)
    assert x.tolist() == [[1.0, -2.0], [13.0, 4.0]]


@given(layouts())
def test_view_and_contiguous_pass_gradcheck(layout):
    shape, perm, steps, target = layout

    def fn(x):
        t = x.permute(*perm)[tuple(slice(None, None, s) for s in steps)]
        return (t.contiguous().view(*target) * 1.5).tanh()

    x = mg.tensor(np.linspace(-1, 1, math.prod(shape)).reshape(shape), requires_grad=True)
    assert gradcheck(fn, x)
