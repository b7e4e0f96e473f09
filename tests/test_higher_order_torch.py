"""Second derivatives against ``torch.autograd.grad(..., create_graph=True)``, in float64.

Hessian-vector products of a loss with respect to every parameter (the double backward of every
op in the model, including the fused ones), and the gradient of a gradient-penalty loss (a
loss made of a first derivative), must agree with PyTorch to 1e-9.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = pytest.mark.torch

RTOL, ATOL = 1e-9, 1e-12


def _pair(arrays: dict[str, np.ndarray]):
    """The same float64 arrays as minigrad leaves and as torch leaves, both requiring grad."""
    ours = {k: mg.tensor(a, dtype="float64", requires_grad=True) for k, a in arrays.items()}
    theirs = {
        k: torch.tensor(a, dtype=torch.float64, requires_grad=True) for k, a in arrays.items()
    }
    return ours, theirs


def _hvp_ours(loss_fn, params: dict, vecs: dict) -> dict[str, np.ndarray]:
    names = list(params)
    loss = loss_fn(params)
    grads = mg.grad(loss, [params[k] for k in names], create_graph=True)
    dot = sum((g * vecs[k]).sum() for k, g in zip(names, grads))
    return {k: h.data for k, h in zip(names, mg.grad(dot, [params[k] for k in names]))}


def _hvp_torch(loss_fn, params: dict, vecs: dict) -> dict[str, np.ndarray]:
    names = list(params)
    loss = loss_fn(params)
    grads = torch.autograd.grad(loss, [params[k] for k in names], create_graph=True)
    dot = sum((g * torch.from_numpy(vecs[k])).sum() for k, g in zip(names, grads))
    hv = torch.autograd.grad(dot, [params[k] for k in names])
    return {k: h.numpy() for k, h in zip(names, hv)}


def _assert_same(ours: dict, theirs: dict) -> None:
    for k in theirs:
        np.testing.assert_allclose(ours[k], theirs[k], rtol=RTOL, atol=ATOL, err_msg=k)


def _weights(rng, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    return {k: rng.standard_normal(s) / math.sqrt(s[-1]) for k, s in shapes.items()}


@settings(max_examples=4)
@given(seed=st.integers(0, 2**16), batch=st.integers(1, 5), smoothing=st.sampled_from([0.0, 0.1]))
def test_hvp_of_an_mlp_with_cross_entropy_matches_torch(seed, batch, smoothing):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 4))
    target = rng.integers(0, 5, size=batch)
    arrays = _weights(rng, {"w1": (8, 4), "b1": (8,), "w2": (5, 8), "b2": (5,)})
    vecs = {k: rng.standard_normal(a.shape) for k, a in arrays.items()}
    ours, theirs = _pair(arrays)

    def loss_ours(p):
        h = F.linear(mg.tensor(x), p["w1"], p["b1"]).tanh()
        return F.cross_entropy(F.linear(h, p["w2"], p["b2"]), target, label_smoothing=smoothing)

    def loss_torch(p):
        h = torch.tanh(TF.linear(torch.from_numpy(x), p["w1"], p["b1"]))
        logits = TF.linear(h, p["w2"], p["b2"])
        return TF.cross_entropy(logits, torch.from_numpy(target), label_smoothing=smoothing)

    _assert_same(_hvp_ours(loss_ours, ours, vecs), _hvp_torch(loss_torch, theirs, vecs))


def test_hvp_through_embedding_layernorm_gelu_matches_torch():
    rng = np.random.default_rng(1)
    ids = np.array([[0, 3, 3, 5], [2, 5, 1, 0]])
    target = np.array([[3, 3, 5, 2], [5, 1, -100, 4]])  # one ignored position
    arrays = _weights(
        rng, {"emb": (6, 4), "ln_w": (4,), "ln_b": (4,), "w1": (6, 4), "b1": (6,), "w2": (6, 6)}
    )
    vecs = {k: rng.standard_normal(a.shape) for k, a in arrays.items()}
    ours, theirs = _pair(arrays)

    def loss_ours(p):
        h = F.layer_norm(F.embedding(ids, p["emb"]), (4,), p["ln_w"], p["ln_b"])
        h = F.linear(h, p["w1"], p["b1"]).gelu()
        logits = (h @ p["w2"].T).softmax(-1).log()  # softmax and log as ops of their own
        return F.cross_entropy(logits.reshape(-1, 6), target.reshape(-1))

    def loss_torch(p):
        h = TF.layer_norm(TF.embedding(torch.from_numpy(ids), p["emb"]), (4,), p["ln_w"], p["ln_b"])
        h = TF.gelu(TF.linear(h, p["w1"], p["b1"]))
        logits = torch.log(torch.softmax(h @ p["w2"].T, -1))
        return TF.cross_entropy(logits.reshape(-1, 6), torch.from_numpy(target).reshape(-1))

    _assert_same(_hvp_ours(loss_ours, ours, vecs), _hvp_torch(loss_torch, theirs, vecs))


def test_hvp_through_attention_and_fused_linear_cross_entropy_matches_torch():
    rng = np.random.default_rng(2)
    b, t, d, heads, vocab = 2, 3, 4, 2, 7
    x = rng.standard_normal((b, t, d))
    target = rng.integers(0, vocab, size=b * t)
    arrays = _weights(rng, {"qkv": (3 * d, d), "head": (vocab, d), "head_b": (vocab,)})
    vecs = {k: rng.standard_normal(a.shape) for k, a in arrays.items()}
    ours, theirs = _pair(arrays)

    def loss_ours(p):
        h = F.causal_attention(F.linear(mg.tensor(x), p["qkv"]), heads)
        return F.linear_cross_entropy(h.reshape(-1, d), p["head"], target, bias=p["head_b"])

    def loss_torch(p):
        qkv = TF.linear(torch.from_numpy(x), p["qkv"]).reshape(b, t, 3, heads, d // heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        s = q @ k.transpose(-1, -2) / math.sqrt(d // heads)
        s = s.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
        h = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(b * t, d)
        return TF.cross_entropy(TF.linear(h, p["head"], p["head_b"]), torch.from_numpy(target))

    _assert_same(_hvp_ours(loss_ours, ours, vecs), _hvp_torch(loss_torch, theirs, vecs))


def test_gradient_penalty_matches_torch():
    """WGAN-GP style: penalise how far the norm of d critic / d input is from 1.

    The loss is made of a first derivative, so its gradient with respect to the critic's
    weights is a second derivative (create_graph=True in the inner ``grad``).
    """
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 3))
    arrays = _weights(rng, {"w1": (6, 3), "b1": (6,), "w2": (1, 6)})
    ours, theirs = _pair(arrays)
    xo = mg.tensor(x, dtype="float64", requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)

    critic = F.linear(F.linear(xo, ours["w1"], ours["b1"]).tanh(), ours["w2"])
    (gx,) = mg.grad(critic.sum(), xo, create_graph=True)
    penalty = (((gx * gx).sum(dim=1).sqrt() - 1) ** 2).mean()
    penalty.backward()

    critic_t = TF.linear(torch.tanh(TF.linear(xt, theirs["w1"], theirs["b1"])), theirs["w2"])
    (gx_t,) = torch.autograd.grad(critic_t.sum(), xt, create_graph=True)
    penalty_t = ((gx_t.norm(dim=1) - 1) ** 2).mean()
    penalty_t.backward()

    np.testing.assert_allclose(penalty.item(), penalty_t.item(), rtol=RTOL)
    for k in arrays:
        np.testing.assert_allclose(
            np.asarray(ours[k].grad), theirs[k].grad.numpy(), rtol=RTOL, atol=ATOL, err_msg=k
        )
    np.testing.assert_allclose(np.asarray(xo.grad), xt.grad.numpy(), rtol=RTOL, atol=ATOL)
