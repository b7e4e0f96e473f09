"""Causal self-attention and the transformer block: gradcheck, a composed reference, causality."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.nn import CausalSelfAttention
from minigrad.nn.functional import causal_attention, dropout_mask
from minigrad.nn.transformer import TransformerBlock
from minigrad.ops.attention import CausalAttention
from minigrad.tensor import Tensor
from minigrad.testing import gradcheck, gradgradcheck

dims = st.fixed_dictionaries(
    {
        "b": st.integers(1, 2),
        "t": st.integers(1, 4),
        "h": st.integers(1, 2),
        "hd": st.integers(1, 3),
        "seed": st.integers(0, 2**16),
    }
)


def composed_attention(qkv: Tensor, h: int) -> Tensor:
    """The same attention from minigrad's ordinary ops (reshape, permute, matmul, softmax)."""
    b, t, c3 = qkv.shape
    d = c3 // 3
    x = qkv.reshape(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
    q, k, v = x[0], x[1], x[2]
    s = (q @ k.transpose(-2, -1)) * (1 / math.sqrt(d // h))
    future = np.triu(np.ones((t, t), bool), k=1)
    p = s.masked_fill(future, -np.inf).softmax(-1)
    return (p @ v).permute(0, 2, 1, 3).reshape(b, t, d)


@settings(max_examples=25)
@given(dims)
def test_fused_attention_gradcheck(dm):
    rng = np.random.default_rng(dm["seed"])
    d = dm["h"] * dm["hd"]
    qkv = Tensor(rng.standard_normal((dm["b"], dm["t"], 3 * d)), requires_grad=True)
    assert gradcheck(lambda x: causal_attention(x, dm["h"]), qkv, atol=1e-6, rtol=1e-5)
    if dm["seed"] % 5 == 0:  # a fifth of the examples: each double backward checks many entries
        assert gradgradcheck(lambda x: causal_attention(x, dm["h"]), qkv, atol=1e-6, rtol=1e-5)


@settings(max_examples=25)
@given(dims)
def test_fused_attention_equals_composed_ops(dm):
    rng = np.random.default_rng(dm["seed"])
    d = dm["h"] * dm["hd"]
    data = rng.standard_normal((dm["b"], dm["t"], 3 * d))
    g = rng.standard_normal((dm["b"], dm["t"], d))
    a, b = Tensor(data, requires_grad=True), Tensor(data, requires_grad=True)
    ya, yb = causal_attention(a, dm["h"]), composed_attention(b, dm["h"])
    np.testing.assert_allclose(ya.data, yb.data, rtol=1e-12, atol=1e-12)
    ya.backward(g)
    yb.backward(g)
    np.testing.assert_allclose(a.grad, b.grad, rtol=1e-10, atol=1e-12)


def test_attention_dropout_gradcheck_with_a_fixed_mask():
    rng = np.random.default_rng(0)
    qkv = Tensor(rng.standard_normal((2, 3, 12)), requires_grad=True)
    mg.manual_seed(3)
    mask = dropout_mask((2, 2, 3, 3), 0.4, np.dtype(np.float64))
    assert gradcheck(lambda x: CausalAttention.apply(x, n_heads=2, attn_mask=mask), qkv)
    assert gradgradcheck(lambda x: CausalAttention.apply(x, n_heads=2, attn_mask=mask), qkv)


def test_attention_is_causal():
    """Changing token j changes no output before position j (and their gradients ignore it)."""
    mg.manual_seed(0)
    attn = CausalSelfAttention(8, n_heads=2)
    x = np.random.default_rng(1).standard_normal((1, 6, 8)).astype(np.float32)
    y = attn(Tensor(x)).data
    x2 = x.copy()
    x2[0, 4] += 10.0
    y2 = attn(Tensor(x2)).data
    np.testing.assert_array_equal(y[0, :4], y2[0, :4])
    assert not np.allclose(y[0, 4:], y2[0, 4:])
    xt = Tensor(x, requires_grad=True)
    attn(xt)[:, :3].sum().backward()
    np.testing.assert_array_equal(xt.grad[0, 3:], 0)


def test_attention_is_stable_for_huge_scores():
    qkv = np.zeros((1, 3, 6), np.float32)
    qkv[..., :4] = 1e4  # q and k huge: scores of 1e8
    out = causal_attention(Tensor(qkv), 1).data
    assert np.isfinite(out).all()


@settings(max_examples=10)
@given(
    d_h=st.sampled_from([(2, 1), (4, 2), (6, 3)]),
    t=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_self_attention_and_block_gradcheck(d_h, t, seed):
    d, h = d_h
    mg.manual_seed(seed)
    for make in (CausalSelfAttention, TransformerBlock):
        m = make(d, h)
        for p in m.parameters():
            p.data = p.data.astype(np.float64)
        x = Tensor(np.random.default_rng(seed).standard_normal((2, t, d)), requires_grad=True)
        params = list(m.parameters())

        def fn(x, *_, m=m):
            return m(x)

        assert gradcheck(fn, x, *params, atol=1e-6, rtol=1e-5)


def test_attention_and_block_match_torch():
    torch = pytest.importorskip("torch")
    from benchmarks.torch_tinygpt import TorchAttention, TorchBlock, to_torch_state

    mg.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 12))
    for ours, theirs in (
        (CausalSelfAttention(12, 3), TorchAttention(12, 3)),
        (TransformerBlock(12, 3), TorchBlock(12, 3)),
    ):
        for p in ours.parameters():
            p.data = p.data.astype(np.float64)
        theirs = theirs.double()
        assert list(ours.state_dict()) == list(theirs.state_dict())
        theirs.load_state_dict(to_torch_state(ours.state_dict()))
        xm, xt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ym, yt = ours(xm), theirs(xt)
        np.testing.assert_allclose(ym.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
        g = rng.standard_normal(ym.shape)
        ym.backward(g)
        yt.backward(torch.from_numpy(g))
        np.testing.assert_allclose(xm.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
        for name, p in ours.named_parameters():
            tp = dict(theirs.named_parameters())[name]
            np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_attention_errors():
    with pytest.raises(ValueError, match=r"d_model \(10\) must be a positive multiple of n_heads"):
        CausalSelfAttention(10, 3)
    attn = CausalSelfAttention(8, 2)
    with pytest.raises(ValueError, match=r"\(B, T, 8\), got \(2, 8\)"):
        attn(Tensor(np.zeros((2, 8), np.float32)))
    with pytest.raises(ValueError, match="not divisible by n_heads = 3"):
        causal_attention(Tensor(np.zeros((1, 2, 12))), 3)
    with pytest.raises(ValueError, match=r"\(B, T, 3 \* d\)"):
        causal_attention(Tensor(np.zeros((1, 2, 4))), 1)


def test_attention_dropout_respects_train_and_eval():
    mg.manual_seed(0)
    attn = CausalSelfAttention(8, 2, dropout=0.5)
    x = Tensor(np.random.default_rng(0).standard_normal((2, 4, 8)).astype(np.float32))
    a, b = attn(x).data, attn(x).data
    assert not np.allclose(a, b)  # training: fresh masks
    attn.eval()
    np.testing.assert_array_equal(attn(x).data, attn(x).data)
