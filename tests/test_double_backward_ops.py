"""Every op in ``minigrad/ops/`` has a double backward, and one example here checks each.

The per-op Hypothesis properties (``check_op`` in the op tests, and the nn / transformer
properties) run ``gradgradcheck`` over generated shapes; this file makes sure no op is left
out: it runs one small ``gradgradcheck`` per case below, records which ops' ``backward_graph``
ran, and compares that with the list of every ``Function`` subclass the ops package defines.
The ops that exist only as the backward of another (``PlaceAt`` for indexing, ``ScatterRows``
for the embedding, ...) run their own ``backward_graph`` at the third derivative, so those
cases check a gradient of a gradient of a gradient.
"""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
import minigrad.ops
from minigrad.autograd import Function
from minigrad.ops.elementwise import ApplyMask
from minigrad.ops.normalization import NormalizeRows
from minigrad.testing import gradgradcheck

#: ops allowed to raise NotImplementedError under create_graph=True (none, today)
WITHOUT_DOUBLE_BACKWARD: set[str] = set()

RNG = np.random.default_rng(0)


def t(*shape, positive=False):
    a = RNG.standard_normal(shape)
    return mg.tensor(np.abs(a) + 0.5 if positive else a, dtype="float64", requires_grad=True)


def first_derivative(fn):
    """x -> d sum(fn(x)) / dx, with a graph: its gradgradcheck checks third derivatives."""

    def d(x):
        y = fn(x)
        return mg.grad(y, x, grad_outputs=mg.ones(y.shape, dtype=np.float64), create_graph=True)[0]

    return d


IDS = np.array([[0, 2], [2, 1]])
MASK = (RNG.random((2, 3)) > 0.4) * 2.0

CASES = {
    "add sub mul div": (lambda a, b: (a + b) * (a - b) / (b * b + 1), t(2, 3), t(3)),
    "neg pow exp log sqrt": (lambda a: (-a) ** 2 + a.exp() + (a * a + 1).log().sqrt(), t(2, 3)),
    "pow with a tensor exponent": (lambda a, b: a**b + 2.0**b, t(2, 3, positive=True), t(3)),
    "abs tanh sigmoid relu": (lambda a: a.abs() * a.tanh() + a.sigmoid() * a.relu(), t(2, 3)),
    "gelu both ways": (lambda a: a.gelu() * a.gelu(approximate="tanh"), t(2, 3)),
    "gelu third derivative": (first_derivative(lambda a: a.gelu()), t(2, 3)),
    "mask maximum minimum clamp": (
        lambda a, b: (
            ApplyMask.apply(a * a, mask=MASK) + a.maximum(b) * a.minimum(b) * a.clamp(-0.3, 0.3)
        ),
        t(2, 3),
        t(3),
    ),
    # (a cast to float32 and back would lose the finite differences: long double keeps them)
    "where cast": (
        lambda a, b: mg.where(MASK > 0, a * b, b * b) * (a.to(np.longdouble) ** 2).double(),
        t(2, 3),
        t(3),
    ),
    "sum mean var amax amin": (
        lambda a: (a * a).sum(1) * a.mean(0).sum() + a.var(1) + (a * a).amax(0).sum() * a.amin(),
        t(2, 3),
    ),
    "reshape permute squeeze unsqueeze expand": (
        lambda a, b: (a * a).reshape(3, 2).T.unsqueeze(0).squeeze(0) * b.expand(2, 3) * b,
        t(2, 3),
        t(3),
    ),
    "indexing, third derivative": (
        first_derivative(lambda a: (a[[0, 0, 1]] ** 3).sum() + (a[:, 1:] ** 3).sum()),
        t(2, 3),
    ),
    "max(dim), third derivative": (first_derivative(lambda a: (a**3).max(1).values ** 2), t(2, 3)),
    "cat stack": (
        lambda a, b: mg.cat([a * a, b.reshape(1, 3)], 0) * mg.stack([b, b * b, b]),
        t(2, 3),
        t(3),
    ),
    "matmul": (  # matrix, vector on either side, vector @ vector, batched
        lambda a, b, c, d: (a @ b) @ c + c @ (a @ b) + c @ c + (d @ b).sum((0, 1)),
        t(2, 3),
        t(3, 2),
        t(2),
        t(2, 2, 3),
    ),
    "softmax log_softmax": (lambda a: a.softmax(-1) * a.log_softmax(0), t(2, 3)),
    "linear": (lambda x, w, b: F.linear(x, w, b) ** 2, t(2, 3), t(4, 3), t(4)),
    "layer norm": (lambda x, w, b: F.layer_norm(x, (3,), w, b) ** 2, t(2, 3), t(3), t(3)),
    "layer norm, constant x": (
        lambda w: NormalizeRows.apply(np.arange(6.0).reshape(2, 3), w * w, n=3),
        t(3),
    ),
    "embedding, third derivative": (
        first_derivative(lambda w: F.embedding(IDS, w, padding_idx=1) ** 3),
        t(3, 2),
    ),
    "cross-entropy": (
        lambda z: F.cross_entropy(z, np.array([[1, 0], [-100, 2]]), label_smoothing=0.1),
        t(2, 3, 2),
    ),
    "linear cross-entropy": (
        lambda h, w, b: F.linear_cross_entropy(
            h, w, np.array([1, 3, -100]), bias=b, reduction="none"
        ),
        t(3, 3),
        t(4, 3),
        t(4),
    ),
    "attention": (lambda qkv: F.causal_attention(qkv, 2), t(1, 3, 12)),
    # issue 18: views and copies, std, in-place ops on non-leaves, the new losses and lookups
    "view contiguous std": (
        lambda a: (a * a).permute(1, 0).contiguous().view(6) * (a * a).std(1).sum() + a.std(),
        t(2, 3),
    ),
    "in-place arithmetic, fill, copy, setitem": (lambda a, b: _inplace_mix(a, b), t(2, 3), t(3)),
    "in-place through a view (CopySlices, ViewOfBase)": (
        lambda a, b: _inplace_through_view(a, b),
        t(2, 3),
        t(3),
    ),
    "cross-entropy with weights and smoothing": (
        lambda z: F.cross_entropy(
            z, np.array([[1, 0], [-100, 2]]), weight=np.array([0.5, 2.0, 1.5]), label_smoothing=0.2
        ),
        t(2, 3, 2),
    ),
    "cross-entropy with probability targets and weights": (
        lambda z, q: F.cross_entropy(
            z, q * q, weight=np.array([0.5, 2.0, 1.5]), label_smoothing=0.1, reduction="sum"
        ),
        t(2, 3, 2),
        t(2, 3, 2),
    ),
    # (scale_grad_by_freq's gradient is not a derivative where an id repeats, so no finite
    # difference can check it there: ids without repeats here; the scaling itself is compared
    # with the plain backward in tests/nn/test_embedding_options.py)
    "embedding scale_grad_by_freq, third derivative": (
        first_derivative(lambda w: F.embedding([[0, 2]], w, scale_grad_by_freq=True) ** 3),
        t(3, 2),
    ),
}


def _inplace_mix(a, b):
    y = a * b  # a non-leaf: in-place ops on it are recorded
    y += b * b
    y.mul_(a)
    y[0, 1] = (b * a[1]).sum()
    z = (a * 1.0).fill_(2.0) + (a * 1.0).copy_(b * b)
    return y * y + z


def _inplace_through_view(a, b):
    y = a * a
    row = y[1]  # a view of y
    row.mul_(b)  # y's history becomes CopySlices, row's ViewOfBase
    col = y[:, 0]
    return y * y + (row * row).sum() + col.sum()


def _op_classes() -> dict[str, type]:
    """Every concrete ``Function`` subclass defined in ``minigrad/ops/``, by name."""
    for info in pkgutil.iter_modules(minigrad.ops.__path__):
        importlib.import_module(f"minigrad.ops.{info.name}")
    found, stack = {}, [Function]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith("minigrad.ops.") and not sub.__name__.startswith("_"):
                found[sub.__name__] = sub
    return found


@pytest.fixture(scope="module")
def double_backward_calls():
    """The op classes whose ``backward_graph`` ran while the cases below were checked."""
    return set()


@pytest.mark.parametrize("case", CASES)
def test_gradgradcheck_case(case, double_backward_calls, monkeypatch):
    for name, cls in _op_classes().items():
        if "backward_graph" in vars(cls) or any(
            "backward_graph" in vars(base) for base in cls.__mro__[1:-2]
        ):

            def spy(self, grad, _name=name, _original=cls.backward_graph):
                double_backward_calls.add(_name)
                return _original(self, grad)

            monkeypatch.setattr(cls, "backward_graph", spy)
    fn, *inputs = CASES[case]
    assert gradgradcheck(fn, *inputs, atol=1e-6, rtol=1e-5)


def test_every_op_has_a_checked_double_backward(double_backward_calls):
    ops = _op_classes()
    assert len(ops) > 40  # the walk found the package's ops
    missing = sorted(
        name
        for name, cls in ops.items()
        if cls.backward_graph is Function.backward_graph and name not in WITHOUT_DOUBLE_BACKWARD
    )
    assert not missing, f"ops without backward_graph: {missing}"
    unchecked = sorted(set(ops) - WITHOUT_DOUBLE_BACKWARD - double_backward_calls)
    assert not unchecked, f"no case above runs the double backward of {unchecked}"
    for name in WITHOUT_DOUBLE_BACKWARD:  # those may refuse, but must say who refuses
        with pytest.raises(NotImplementedError, match=name):
            ops[name]().backward_graph(None)
