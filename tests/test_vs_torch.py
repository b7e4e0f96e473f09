"""Differential tests against PyTorch: same float64 inputs, same forward, same gradients.

Two parts.  First every op on its own, with values drawn from a small set (-2, -1, -0.5, 0,
0.5, 1, 2) wherever the op has a kink, so that the tie and edge rules are compared too:
maximum at ties, clamp at its bounds, abs and relu at 0, amax / max() ties, the index that
max(dim) picks.  Second, random compositions: a small expression generator applies ops drawn
from a table to tensors of compatible shapes, and the gradients of all leaves must match.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.testing import broadcastable_shapes, matmul_shapes, safe_floats, shapes, tensors

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = pytest.mark.torch

RTOL = 1e-5

#: values with ties, zeros and round numbers: they hit every kink's tie-breaking rule
EDGE = st.sampled_from([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
POS = safe_floats(positive=True)


def assert_close(actual: Any, expected: Any, what: str) -> None:
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    scale = float(np.max(np.abs(expected[np.isfinite(expected)]), initial=1.0))
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=1e-9 * scale, err_msg=what)


def run_both(
    mg_fn: Callable[..., Any],
    torch_fn: Callable[..., Any],
    arrays: list[np.ndarray],
    upstream_seed: int = 0,
) -> None:
    """Run ``mg_fn`` and ``torch_fn`` on the same arrays; compare outputs and input gradients."""
    m_in = [mg.tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    m_out, t_out = mg_fn(*m_in), torch_fn(*t_in)
    assert_close(m_out.data, t_out.detach().numpy(), "forward")
    g = np.random.default_rng(upstream_seed).standard_normal(t_out.shape)
    m_out.backward(g)
    t_out.backward(torch.tensor(g))
    for i, (m, t) in enumerate(zip(m_in, t_in)):
        expected = np.zeros(m.shape) if t.grad is None else t.grad.numpy()
        actual = np.zeros(m.shape) if m.grad is None else m.grad
        assert_close(actual, expected, f"gradient of input {i}")


# ----------------------------------------------------------------- each op on its own
@dataclass
class Op:
    name: str
    arity: int
    mg_fn: Callable[..., Any]
    torch_fn: Callable[..., Any] | None = None  # None: the same code works on torch tensors
    elements: Any = EDGE
    shapes: Any = None  # a strategy of tuples of shapes; default: broadcastable shapes

    def __post_init__(self) -> None:
        if self.torch_fn is None:
            self.torch_fn = self.mg_fn


SINGLE = shapes().map(lambda s: (s,))
AT_LEAST_1D = shapes(min_dims=1).map(lambda s: (s,))
AT_LEAST_2D = shapes(min_dims=2).map(lambda s: (s,))

OPS = [
    Op("add", 2, lambda a, b: a + b),
    Op("sub", 2, lambda a, b: a - b),
    Op("mul", 2, lambda a, b: a * b),
    Op("div", 2, lambda a, b: a / b, elements=safe_floats()),
    Op("neg", 1, lambda a: -a, shapes=SINGLE),
    Op("pow_scalar", 1, lambda a: a**3, shapes=SINGLE),
    Op("pow_square_at_zero", 1, lambda a: a**2, shapes=SINGLE),
    Op("pow_zero", 1, lambda a: a**0, shapes=SINGLE),
    Op("pow_half", 1, lambda a: a**0.5, elements=POS, shapes=SINGLE),
    Op("pow_tensor", 2, lambda a, b: a.abs() ** b, elements=safe_floats()),
    Op("rpow", 1, lambda a: 2.0**a, shapes=SINGLE),
    Op("rsub_rdiv", 1, lambda a: 1.0 - 3.0 / a, elements=safe_floats(), shapes=SINGLE),
    Op("matmul", 2, lambda a, b: a @ b, elements=safe_floats(), shapes=matmul_shapes()),
    Op("exp", 1, lambda a: a.exp(), shapes=SINGLE),
    Op("log", 1, lambda a: a.log(), elements=POS, shapes=SINGLE),
    Op("sqrt", 1, lambda a: a.sqrt(), elements=POS, shapes=SINGLE),
    Op("abs", 1, lambda a: a.abs(), shapes=SINGLE),
    Op("tanh", 1, lambda a: a.tanh(), shapes=SINGLE),
    Op("sigmoid", 1, lambda a: a.sigmoid(), shapes=SINGLE),
    Op("sigmoid_large", 1, lambda a: (a * 40).sigmoid(), shapes=SINGLE),
    Op("relu", 1, lambda a: a.relu(), shapes=SINGLE),
    Op(
        "gelu_tanh",
        1,
        lambda a: a.gelu(approximate="tanh"),
        lambda a: F.gelu(a, approximate="tanh"),
        shapes=SINGLE,
    ),
    Op("gelu_exact", 1, lambda a: a.gelu(), lambda a: F.gelu(a), shapes=SINGLE),
    Op("maximum", 2, lambda a, b: a.maximum(b), lambda a, b: torch.maximum(a, b)),
    Op("minimum", 2, lambda a, b: a.minimum(b), lambda a, b: torch.minimum(a, b)),
    Op("clamp", 1, lambda a: a.clamp(-1.0, 1.0), shapes=SINGLE),
    Op("clamp_min", 1, lambda a: a.clamp(min=0.5), shapes=SINGLE),
    Op("clamp_max", 1, lambda a: a.clamp(max=0.0), shapes=SINGLE),
    Op("where", 2, lambda a, b: mg.where(a > b, a, b), lambda a, b: torch.where(a > b, a, b)),
    Op("sum", 1, lambda a: a.sum(), shapes=SINGLE),
    Op("sum_dim_keep", 1, lambda a: a.sum(dim=0, keepdim=True), shapes=AT_LEAST_1D),
    Op("mean_dims", 1, lambda a: a.mean(dim=(0, -1)), shapes=AT_LEAST_2D),
    Op(
        "var", 1, lambda a: a.var(dim=-1), shapes=shapes(min_dims=1, min_side=2).map(lambda s: (s,))
    ),
    Op("var_c0", 1, lambda a: a.var(correction=0, keepdim=True), shapes=SINGLE),
    Op("amax", 1, lambda a: a.amax(dim=-1), shapes=AT_LEAST_1D),
    Op("amin_all", 1, lambda a: a.amin(dim=None), lambda a: a.amin(), shapes=SINGLE),
    Op("max_full", 1, lambda a: a.max(), shapes=SINGLE),
    Op("min_full", 1, lambda a: a.min(), shapes=SINGLE),
    Op("max_dim", 1, lambda a: a.max(dim=-1).values, shapes=AT_LEAST_1D),
    Op("min_dim_keep", 1, lambda a: a.min(dim=0, keepdim=True).values, shapes=AT_LEAST_1D),
    Op("softmax", 1, lambda a: a.softmax(dim=-1), shapes=AT_LEAST_1D),
    Op("log_softmax", 1, lambda a: a.log_softmax(dim=0), shapes=AT_LEAST_1D),
    Op("softmax_huge", 1, lambda a: (a * 1e4).softmax(dim=-1), shapes=AT_LEAST_1D),
    Op("log_softmax_huge", 1, lambda a: (a * 1e4).log_softmax(dim=-1), shapes=AT_LEAST_1D),
    Op("reshape", 1, lambda a: a.reshape(-1), shapes=SINGLE),
    Op("T", 1, lambda a: a.T, lambda a: a.permute(tuple(reversed(range(a.ndim)))), shapes=SINGLE),
    Op("mT", 1, lambda a: a.mT, shapes=AT_LEAST_2D),
    Op("permute", 1, lambda a: a.permute(tuple(range(a.ndim - 1, -1, -1))), shapes=SINGLE),
    Op("transpose", 1, lambda a: a.transpose(0, -1), shapes=AT_LEAST_1D),
    Op("squeeze_unsqueeze", 1, lambda a: a.unsqueeze(1).squeeze(), shapes=AT_LEAST_1D),
    Op("expand", 1, lambda a: a.unsqueeze(0).expand(3, *a.shape), shapes=SINGLE),
    Op(
        "cat",
        2,
        lambda a, b: mg.cat([a, b, a], dim=0),
        lambda a, b: torch.cat([a, b, a], dim=0),
        shapes=shapes(min_dims=1).map(lambda s: (s, s)),
    ),
    Op(
        "stack",
        2,
        lambda a, b: mg.stack([a, b], dim=-1),
        lambda a, b: torch.stack([a, b], dim=-1),
        shapes=shapes().map(lambda s: (s, s)),
    ),
    Op("index_basic", 1, lambda a: a[None, ..., -1], shapes=AT_LEAST_1D),
    Op(
        "index_repeated",
        1,
        lambda a: a[mg.tensor([0, -1, 0, 0])],
        lambda a: a[torch.tensor([0, -1, 0, 0])],
        shapes=AT_LEAST_1D,
    ),
    Op(
        "index_mask",
        1,
        lambda a: a[a > 0],
        shapes=SINGLE,
    ),
    Op(
        "cast",
        1,
        lambda a: a.to(mg.float32).to(mg.float64) * 1,
        lambda a: a.float().double() * 1,
        shapes=SINGLE,
    ),
]


@pytest.mark.parametrize("op", OPS, ids=[o.name for o in OPS])
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_each_op_matches_torch(op, data, seed):
    if op.shapes is None:
        shape_tuple = data.draw(broadcastable_shapes(num_shapes=op.arity))
    else:
        shape_tuple = data.draw(op.shapes)
    arrays = [data.draw(hnp.arrays(np.float64, s, elements=op.elements)) for s in shape_tuple]
    run_both(op.mg_fn, op.torch_fn, arrays, seed)


def test_max_dim_picks_the_first_index_at_ties_like_torch():
    a = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [0.0, -1.0, 0.0, 5.0]])
    values, indices = mg.tensor(a).max(dim=1)
    t_values, t_indices = torch.tensor(a).max(dim=1)
    np.testing.assert_array_equal(indices.data, t_indices.numpy())
    np.testing.assert_array_equal(values.data, t_values.numpy())
    _, min_indices = mg.tensor(a).min(dim=0)
    np.testing.assert_array_equal(min_indices.data, torch.tensor(a).min(dim=0).indices.numpy())


# ----------------------------------------------------------------- random compositions
# Every entry works on minigrad and torch tensors alike, given ``lib`` (the module) for the
# few free functions.  Each one is defined for every real input (no log of a negative), so any
# composition is valid; ``applies`` filters by shape.
UNARY_STEPS: dict[str, tuple[Callable[[Any, Any], Any], Callable[[tuple[int, ...]], bool]]] = {
    "tanh": (lambda lib, t: t.tanh(), lambda s: True),
    "sigmoid": (lambda lib, t: t.sigmoid(), lambda s: True),
    "exp_tanh": (lambda lib, t: t.tanh().exp(), lambda s: True),
    "abs": (lambda lib, t: abs(t), lambda s: True),
    "relu": (lambda lib, t: t.relu(), lambda s: True),
    "neg_affine": (lambda lib, t: 1.5 - 0.7 * t, lambda s: True),
    "square": (lambda lib, t: t * t, lambda s: True),
    "log1p_square": (lambda lib, t: (t * t + 1).log(), lambda s: True),
    "sqrt1p_square": (lambda lib, t: (1 + t**2).sqrt(), lambda s: True),
    "reciprocal": (lambda lib, t: 1 / (1 + t * t), lambda s: True),
    "pow_fraction": (lambda lib, t: (t * t + 0.5) ** 1.5, lambda s: True),
    "rpow": (lambda lib, t: 2.0 ** t.tanh(), lambda s: True),
    "clamp": (lambda lib, t: t.clamp(-1.0, 1.0), lambda s: True),
    "softmax": (lambda lib, t: t.softmax(dim=-1), lambda s: len(s) >= 1),
    "log_softmax": (lambda lib, t: t.log_softmax(dim=0), lambda s: len(s) >= 1),
    "sum_keep": (lambda lib, t: t.sum(dim=-1, keepdim=True), lambda s: len(s) >= 1),
    "mean": (lambda lib, t: t.mean(dim=0), lambda s: len(s) >= 1),
    "var_keep": (lambda lib, t: t.var(dim=-1, keepdim=True), lambda s: len(s) >= 1 and s[-1] > 1),
    "amax_keep": (lambda lib, t: t.amax(dim=-1, keepdim=True), lambda s: len(s) >= 1),
    "max_dim": (lambda lib, t: t.max(dim=0).values, lambda s: len(s) >= 1),
    "min_full": (lambda lib, t: t.min(), lambda s: True),
    "mT": (lambda lib, t: t.mT, lambda s: len(s) >= 2),
    "permute": (lambda lib, t: t.permute(tuple(range(len(t.shape) - 1, -1, -1))), lambda s: True),
    "reshape_flat": (lambda lib, t: t.reshape(-1), lambda s: True),
    "unsqueeze": (lambda lib, t: t.unsqueeze(0), lambda s: len(s) < 4),
    "squeeze": (lambda lib, t: t.squeeze(), lambda s: True),
    "expand": (
        lambda lib, t: t.unsqueeze(0).expand(2, *t.shape),
        lambda s: len(s) < 4 and math.prod(s) <= 32,
    ),
    "index_repeat": (lambda lib, t: t[lib.tensor([0, -1, 0])], lambda s: len(s) >= 1),
    "index_slice": (lambda lib, t: t[..., 1:], lambda s: len(s) >= 1 and s[-1] > 1),
    "index_mask": (lambda lib, t: t[t > 0.2], lambda s: True),
    "cat_self": (
        lambda lib, t: lib.cat([t, t * 2.0], dim=-1),
        lambda s: len(s) >= 1 and math.prod(s) <= 32,
    ),
    "stack_self": (
        lambda lib, t: lib.stack([t, t.tanh()], dim=0),
        lambda s: len(s) < 4 and math.prod(s) <= 32,
    ),
    "gram": (lambda lib, t: t @ t.mT, lambda s: len(s) >= 2 and math.prod(s[:-1]) * s[-2] <= 64),
    "dot_self": (lambda lib, t: t @ t, lambda s: len(s) == 1),
}

BINARY_STEPS: dict[str, Callable[[Any, Any, Any], Any]] = {
    "add": lambda lib, a, b: a + b,
    "sub": lambda lib, a, b: a - b,
    "mul": lambda lib, a, b: a * b,
    "safe_div": lambda lib, a, b: a / (1 + b * b),
    "maximum": lambda lib, a, b: a.maximum(b) if lib is mg else torch.maximum(a, b),
    "minimum": lambda lib, a, b: a.minimum(b) if lib is mg else torch.minimum(a, b),
    "where": lambda lib, a, b: lib.where(a > b, a, b * 0.5),
    "pow": lambda lib, a, b: (a * a + 0.5) ** b.tanh(),
}


def _broadcasts(s1: tuple[int, ...], s2: tuple[int, ...]) -> bool:
    try:
        out = np.broadcast_shapes(s1, s2)
    except ValueError:
        return False
    return math.prod(out) <= 64 and len(out) <= 4


@st.composite
def programs(draw):
    """Leaves (shapes and values) and a list of steps, valid by construction.

    The shapes of intermediate results are tracked by running each step with minigrad on the
    drawn values themselves (a boolean mask's result depends on them), so that each drawn step
    only uses operands of compatible shapes.
    """
    leaf_shapes = draw(broadcastable_shapes(num_shapes=draw(st.integers(1, 3)), max_dims=3))
    leaves = [
        draw(hnp.arrays(np.float64, s, elements=st.floats(-2, 2, allow_nan=False)))
        for s in leaf_shapes
    ]
    live = [mg.tensor(a, dtype=np.float64) for a in leaves]
    steps = []
    for _ in range(draw(st.integers(1, 8))):
        # empty results (a mask that selected nothing) are left alone: max of nothing raises
        i = draw(st.sampled_from([k for k, t in enumerate(live) if t.numel() > 0]))
        if draw(st.booleans()):
            names = [n for n, (_, ok) in UNARY_STEPS.items() if ok(live[i].shape)]
            name = draw(st.sampled_from(names))
            steps.append((name, i, None))
            live.append(UNARY_STEPS[name][0](mg, live[i]))
        else:
            partners = [
                j
                for j, t in enumerate(live)
                if t.numel() > 0 and _broadcasts(live[i].shape, t.shape)
            ]
            j = draw(st.sampled_from(partners))  # always contains i itself
            name = draw(st.sampled_from(sorted(BINARY_STEPS)))
            steps.append((name, i, j))
            live.append(BINARY_STEPS[name](mg, live[i], live[j]))
    return leaves, steps


def _execute(lib, leaves, steps):
    live = list(leaves)
    for name, i, j in steps:
        if j is None:
            live.append(UNARY_STEPS[name][0](lib, live[i]))
        else:
            live.append(BINARY_STEPS[name](lib, live[i], live[j]))
    return live


@given(program=programs(), seed=st.integers(0, 2**16))
def test_random_compositions_match_torch(program, seed):
    arrays, steps = program
    m_leaves = [mg.tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]
    t_leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    m_live = _execute(mg, m_leaves, steps)
    t_live = _execute(torch, t_leaves, steps)
    rng = np.random.default_rng(seed)
    # the loss uses every intermediate result, so every step's backward contributes
    weights = [rng.standard_normal(t.shape) for t in t_live]
    for k, (m, t) in enumerate(zip(m_live, t_live)):
        assert_close(
            m.data,
            t.detach().numpy(),
            f"forward of step {k}: {steps[k - len(arrays)] if k >= len(arrays) else 'leaf'}",
        )
    m_loss = sum(((m * w).sum() for m, w in zip(m_live, weights)), mg.tensor(0.0, dtype=np.float64))
    t_loss = sum(
        ((t * torch.tensor(w)).sum() for t, w in zip(t_live, weights)),
        torch.tensor(0.0, dtype=torch.float64),
    )
    assume(np.isfinite(t_loss.item()))
    m_loss.backward()
    t_loss.backward()
    for k, (m, t) in enumerate(zip(m_leaves, t_leaves)):
        assert_close(m.grad, t.grad.numpy(), f"gradient of leaf {k} after {steps}")


def test_float32_defaults_match_torch_dtypes():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    for fn in (
        lambda t: t * 0.5,
        lambda t: 2 * t,
        lambda t: t**2,
        lambda t: t.sum(),
        lambda t: t.softmax(-1),
    ):
        assert str(fn(x).dtype) == str(fn(tx).dtype).removeprefix("torch.")
    assert str(mg.tensor([1, 2]).dtype) == str(torch.tensor([1, 2]).dtype).removeprefix("torch.")


@given(x=tensors(shape=shapes(min_dims=1)))
def test_strategy_tensors_through_a_small_net_match_torch(x):
    # a Linear-tanh-Linear-log_softmax stack, the shape of the seed's model
    d = x.shape[-1]
    rng = np.random.default_rng(d)
    w1, w2 = rng.standard_normal((d, 5)), rng.standard_normal((5, 3))

    def net(lib_t, a, b, c):
        return ((a @ b).tanh() @ c).log_softmax(dim=-1)

    run_both(
        lambda a, b, c: net(mg, a, b, c),
        lambda a, b, c: net(torch, a, b, c),
        [x.data, w1, w2],
    )
