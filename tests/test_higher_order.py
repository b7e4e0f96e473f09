"""Higher-order gradients: ``backward(create_graph=True)``, ``minigrad.grad`` and the engine's
rules (memory release, version counters, ``retain_grad``) when the backward pass is recorded."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.autograd import Function, ReleasedTensor
from minigrad.optim import SGD
from minigrad.testing import GradcheckError, gradgradcheck


def leaf(values, dtype="float64"):
    return mg.tensor(values, dtype=dtype, requires_grad=True)


# ----------------------------------------------------------------- derivatives of derivatives
def test_second_and_third_derivative_of_x_cubed():
    x = leaf([-1.5, 0.0, 2.0])
    (d1,) = mg.grad((x**3).sum(), x, create_graph=True)
    np.testing.assert_allclose(d1.data, 3 * x.data**2)  # d/dx x^3 = 3x^2
    assert d1.requires_grad and d1.grad_fn is not None
    (d2,) = mg.grad(d1.sum(), x, create_graph=True)
    np.testing.assert_allclose(d2.data, 6 * x.data)  # d2/dx2 x^3 = 6x
    (d3,) = mg.grad(d2.sum(), x)
    np.testing.assert_allclose(d3.data, [6.0, 6.0, 6.0])
    assert not d3.requires_grad  # create_graph=False: a plain tensor
    assert x.grad is None  # grad() returns, it does not accumulate


def test_backward_create_graph_makes_grad_a_differentiable_tensor():
    x = leaf(2.0)
    y = x**3
    y.backward(create_graph=True)
    g = x.grad
    assert isinstance(g, mg.Tensor) and g.grad_fn is not None  # as PyTorch: grad has a graph
    assert g.item() == 12.0
    x.grad = None
    g.backward()  # d(3x^2)/dx = 6x
    assert x.grad == 12.0
    # the graph was kept (retain_graph defaults to create_graph): y can backward again
    x.grad = None
    y.backward()
    assert x.grad == 12.0


def test_create_graph_gradient_accumulates_onto_an_existing_grad():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()  # x.grad = 2x, an ndarray
    (x * x * x).sum().backward(create_graph=True)  # + 3x^2, now a Tensor with a graph
    assert isinstance(x.grad, mg.Tensor)
    np.testing.assert_allclose(x.grad.data, 2 * x.data + 3 * x.data**2)
    (h,) = mg.grad(x.grad.sum(), x)  # d/dx (2x + 3x^2) = 2 + 6x (the ndarray part is constant)
    np.testing.assert_allclose(h.data, 6 * x.data)


def test_an_optimizer_steps_with_a_gradient_that_has_a_graph():
    p = nn.Parameter(np.array([1.0, -2.0]))
    (p * p).sum().backward(create_graph=True)
    SGD([p], lr=0.5).step()
    np.testing.assert_allclose(p.data, [0.0, 0.0])


def test_retain_grad_and_names_with_create_graph():
    x = leaf([0.5, -1.0])
    h = x.tanh()
    h.retain_grad()
    h.name = "h"
    (h * h).sum().backward(create_graph=True)
    assert isinstance(h.grad, mg.Tensor)
    np.testing.assert_allclose(h.grad.data, 2 * np.tanh(x.data))
    assert h.name == "h"


# ----------------------------------------------------------------- grad()'s contract
def test_grad_returns_a_tuple_and_leaves_dot_grad_alone():
    x, w = leaf([1.0, 2.0]), leaf([3.0, -1.0])
    x.grad = np.array([10.0, 10.0])
    gx, gw = mg.grad((x * w).sum(), [x, w])
    np.testing.assert_array_equal(gx.data, w.data)
    np.testing.assert_array_equal(gw.data, x.data)
    np.testing.assert_array_equal(x.grad, [10.0, 10.0])  # untouched
    assert w.grad is None
    single = mg.grad((x * w).sum(), x)
    assert isinstance(single, tuple) and len(single) == 1


def test_grad_retain_graph_defaults_to_create_graph():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    mg.grad(y, x)  # retain_graph=None -> False: the graph is freed
    with pytest.raises(RuntimeError, match="second time"):
        mg.grad(y, x)
    z = (x.exp() * x).sum()
    mg.grad(z, x, create_graph=True)  # retain_graph -> True
    (again,) = mg.grad(z, x, retain_graph=True)
    np.testing.assert_allclose(again.data, np.exp(x.data) * (1 + x.data))


def test_grad_with_respect_to_an_intermediate_and_several_outputs():
    x = leaf([0.3, -0.7])
    h = x * x
    y1, y2 = h.sum(), (h * 3).sum()
    (gh,) = mg.grad([y1, y2], h)  # d(y1 + y2)/dh = 1 + 3
    np.testing.assert_array_equal(gh.data, [4.0, 4.0])
    v = np.array([1.0, -2.0])
    (gx,) = mg.grad(h, x, grad_outputs=v)
    np.testing.assert_allclose(gx.data, 2 * x.data * v)


def test_grad_allow_unused():
    x, unused = leaf([1.0]), leaf([2.0])
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match=r"inputs\[1\].*allow_unused=True"):
        mg.grad(y, [x, unused], retain_graph=True)
    gx, gu = mg.grad(y, [x, unused], allow_unused=True)
    assert gx.item() == 2.0 and gu is None


def test_grad_runs_only_the_nodes_that_lead_to_the_inputs():
    calls = []

    class Spy(Function):
        def forward(self, a):
            return a.copy()

        def backward(self, grad):
            calls.append(1)
            return grad

    x, w = leaf([1.0]), leaf([2.0])
    y = (Spy.apply(x) * w).sum()
    mg.grad(y, w)  # nothing below Mul leads to w through Spy
    assert calls == []


def test_grad_input_errors():
    x = leaf([1.0, 2.0])
    y = x * 2
    with pytest.raises(RuntimeError, match="grad_outputs"):
        mg.grad(y, x)  # not a scalar and no grad_outputs
    with pytest.raises(ValueError, match="shape"):
        mg.grad(y, x, grad_outputs=np.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.grad(y.sum(), mg.tensor([1.0]))
    with pytest.raises(TypeError, match="not a Tensor"):
        mg.grad(y.sum(), [x, "w"])
    with pytest.raises(RuntimeError, match=r"outputs.*does not require grad"):
        mg.grad(mg.tensor(1.0), x)


# ----------------------------------------------------------------- ops without a double backward
class PlainSquare(Function):
    def forward(self, a):
        self.a = a
        return a * a

    def backward(self, grad):
        return 2 * self.a * grad


def test_an_op_without_backward_graph_says_so_by_name():
    x = leaf([1.0])
    with pytest.raises(NotImplementedError, match="PlainSquare has no double backward"):
        mg.grad(PlainSquare.apply(x).sum(), x, create_graph=True)
    # the plain path is unaffected
    (g,) = mg.grad(PlainSquare.apply(x).sum(), x)
    assert g.item() == 2.0


class Cube(Function):
    """x^3 with a backward_graph that can be broken in the two ways a double backward breaks."""

    mistake = None

    def forward(self, a):
        self.a = a
        return a**3

    def backward(self, grad):
        return 3 * self.a**2 * grad

    def backward_graph(self, grad):
        x = self.inputs[0]
        if self.mistake == "saved array":  # right value, but a constant: d/dx of it is lost
            return grad * (3 * self.a**2)
        if self.mistake == "formula":  # a slip: 3x instead of 3x^2
            return 3 * x * grad
        return 3 * x * x * grad


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        ("saved array", "gradgradcheck: the double backward .* disagrees with finite differences"),
        ("formula", "first derivative that create_graph=True computes .* differs"),
    ],
)
def test_gradgradcheck_catches_a_wrong_double_backward(mistake, message, monkeypatch):
    x = leaf([0.5, 2.0])
    assert gradgradcheck(lambda t: Cube.apply(t), x)
    monkeypatch.setattr(Cube, "mistake", mistake)
    with pytest.raises(GradcheckError, match=message) as err:
        gradgradcheck(lambda t: Cube.apply(t), x)
    if mistake == "saved array":  # the worst entry is named as a second derivative
        assert "of d sum(v * out) / d input 0" in str(err.value)


# ----------------------------------------------------------------- the engine's memory rules
def test_create_graph_without_retain_graph_frees_the_first_graph():
    x = leaf([0.5, 1.5])
    h = x.tanh()
    y = (h * h).sum()
    (g,) = mg.grad(y, x, create_graph=True, retain_graph=False)
    # the first graph's saved arrays are gone; g's own graph leads back into it, so a second
    # derivative has to walk the freed nodes, and says so
    with pytest.raises(RuntimeError, match="second time"):
        mg.grad(g.sum(), x)
    assert isinstance(y.grad_fn.inputs[0], ReleasedTensor)


def test_version_check_holds_with_create_graph():
    x = leaf([1.0, 2.0])
    h = x * 1.0
    y = (h.exp()).sum()
    with mg.no_grad():
        h.add_(1.0)  # h was saved by Exp for backward
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward(create_graph=True)


def test_names_survive_a_plain_backward():
    x = leaf([1.0, 2.0])
    x.name = "x"
    h = x * 2
    h.name = "h"
    loss = (h * h).sum()
    loss.backward()
    stand_in = loss.grad_fn.inputs[0].grad_fn.inputs[0]  # Sum <- Mul <- h
    assert isinstance(stand_in, ReleasedTensor)  # the activation is freed ...
    assert stand_in.name == "h" and stand_in.origin_id == id(h)  # ... its name is not
    with pytest.raises(TypeError, match="name"):
        x.name = 3


def test_embedding_and_fused_ops_second_derivatives_in_a_model():
    # a Hessian-vector product through the language-model ops: finite, and symmetric in the
    # sense <H u, v> = <u, H v>
    emb, head = nn.Embedding(5, 3), nn.Linear(3, 5)
    for p in (*emb.parameters(), *head.parameters()):
        p.data = p.data.astype(np.float64)
    params = [emb.weight, head.weight]
    ids, tgt = np.array([0, 3, 3]), np.array([1, 2, 4])

    def hvp(vecs):
        loss = F.cross_entropy(head(F.layer_norm(emb(ids), (3,)).tanh()), tgt)
        grads = mg.grad(loss, params, create_graph=True)
        dot = sum((g * v).sum() for g, v in zip(grads, vecs))
        return [h.data for h in mg.grad(dot, params)]

    rng = np.random.default_rng(0)
    u = [rng.standard_normal(p.shape) for p in params]
    v = [rng.standard_normal(p.shape) for p in params]
    hu, hv = hvp(u), hvp(v)
    left = sum(float((a * b).sum()) for a, b in zip(hu, v))
    right = sum(float((a * b).sum()) for a, b in zip(u, hv))
    assert np.isfinite(left) and abs(left - right) <= 1e-10 * max(1.0, abs(left))
