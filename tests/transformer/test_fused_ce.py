"""linear_cross_entropy: equal to Linear + cross_entropy (loss and every gradient), in chunks."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.nn import functional as F
from minigrad.nn.functional import linear_cross_entropy
from minigrad.tensor import Tensor
from minigrad.testing import gradcheck, gradgradcheck

cases = st.fixed_dictionaries(
    {
        "lead": st.lists(st.integers(1, 4), min_size=1, max_size=2),
        "d": st.integers(1, 4),
        "v": st.integers(1, 6),
        "chunk": st.integers(1, 5) | st.none(),
        "bias": st.booleans(),
        "reduction": st.sampled_from(["mean", "sum", "none"]),
        "ignore": st.floats(0, 0.7),
        "seed": st.integers(0, 2**16),
    }
)


def _inputs(c, dtype=np.float64):
    rng = np.random.default_rng(c["seed"])
    h = rng.standard_normal((*c["lead"], c["d"])).astype(dtype)
    w = rng.standard_normal((c["v"], c["d"])).astype(dtype)
    b = rng.standard_normal(c["v"]).astype(dtype) if c["bias"] else None
    t = rng.integers(0, c["v"], size=tuple(c["lead"]))
    t[rng.random(t.shape) < c["ignore"]] = -100
    return h, w, b, t


def _run(fused, h, w, b, t, reduction, chunk, upstream):
    ht, wt = Tensor(h, requires_grad=True), Tensor(w, requires_grad=True)
    bt = None if b is None else Tensor(b, requires_grad=True)
    if fused:
        loss = linear_cross_entropy(ht, wt, t, bias=bt, chunk_size=chunk, reduction=reduction)
    else:
        logits = F.linear(ht, wt, bt).reshape(-1, w.shape[0])
        loss = F.cross_entropy(logits, t.reshape(-1), reduction=reduction)
        if reduction == "none":
            loss = loss.reshape(t.shape)
    loss.backward(upstream(loss.shape))
    return loss.data, ht.grad, wt.grad, None if bt is None else bt.grad


@settings(max_examples=60)
@given(cases)
def test_fused_equals_unfused(c):
    """Loss and the gradients for hidden, weight and bias equal Linear + cross_entropy."""
    h, w, b, t = _inputs(c)
    rng = np.random.default_rng(c["seed"] + 1)
    up = (lambda s: rng.standard_normal(s)) if c["reduction"] == "none" else (lambda s: 0.7)
    got = _run(True, h, w, b, t, c["reduction"], c["chunk"], up)
    rng = np.random.default_rng(c["seed"] + 1)
    want = _run(False, h, w, b, t, c["reduction"], c["chunk"], up)
    for g, e in zip(got, want):
        if e is None:
            assert g is None
        else:
            np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12, equal_nan=True)


@settings(max_examples=25)
@given(cases.filter(lambda c: c["ignore"] < 0.5))
def test_fused_gradcheck(c):
    h, w, b, t = _inputs(c)
    if c["reduction"] == "mean" and (t == -100).all():
        t.flat[0] = 0  # a mean over no rows is NaN; gradcheck needs a finite loss
    ins = [Tensor(h, requires_grad=True), Tensor(w, requires_grad=True)]
    if b is not None:
        ins.append(Tensor(b, requires_grad=True))

    def fn(hh, ww, bb=None):
        return linear_cross_entropy(
            hh, ww, t, bias=bb, chunk_size=c["chunk"], reduction=c["reduction"]
        )

    assert gradcheck(fn, *ins, atol=1e-6, rtol=1e-5)
    assert gradgradcheck(fn, *ins, atol=1e-6, rtol=1e-5)


def test_float32_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    h = rng.standard_normal((64, 16)).astype(np.float32)
    w = rng.standard_normal((300, 16)).astype(np.float32)
    b = rng.standard_normal(300).astype(np.float32)
    t = rng.integers(0, 300, 64)
    t[::7] = -100
    ht, wt, bt = (Tensor(a, requires_grad=True) for a in (h, w, b))
    loss = linear_cross_entropy(ht, wt, t, bias=bt, chunk_size=10)
    loss.backward()
    th, tw, tb = (torch.tensor(a, requires_grad=True) for a in (h, w, b))
    tl = torch.nn.functional.cross_entropy(th @ tw.T + tb, torch.from_numpy(t))
    tl.backward()
    assert loss.dtype == np.float32 and ht.grad.dtype == np.float32
    np.testing.assert_allclose(loss.item(), tl.item(), rtol=1e-5)
    for ours, theirs in ((ht, th), (wt, tw), (bt, tb)):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_edge_cases():
    h = Tensor(np.zeros((3, 2)), requires_grad=True)
    w = Tensor(np.ones((4, 2)), requires_grad=True)
    # every row ignored: mean is NaN (as PyTorch), sum is 0, gradients are zero
    loss = linear_cross_entropy(h, w, [-100, -100, -100])
    assert np.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(h.grad, 0)
    assert linear_cross_entropy(h, w, [-100] * 3, reduction="sum").item() == 0
    # no grad needed: no gradient buffers are built, the value is the same
    with mg.no_grad():
        v = linear_cross_entropy(h, w, [0, 1, 2])
    assert not v.requires_grad and np.isclose(v.item(), np.log(4))
    # retain_graph: a second backward gives the same gradients again
    h.grad = None
    loss = linear_cross_entropy(h, w, [0, 1, 2]) * 2.0
    loss.backward(retain_graph=True)
    first = h.grad.copy()
    loss.backward()
    np.testing.assert_allclose(h.grad, 2 * first)


def test_errors_name_the_offending_value():
    h = Tensor(np.zeros((3, 2), np.float32))
    w = Tensor(np.zeros((4, 2), np.float32))
    with pytest.raises(IndexError, match="target 4 is out of range for 4 classes"):
        linear_cross_entropy(h, w, [0, 4, 1])
    with pytest.raises(ValueError, match=r"target must have shape \(3,\).*got \(2,\)"):
        linear_cross_entropy(h, w, [0, 1])
    with pytest.raises(ValueError, match=r"weight must be a \(V, 2\) Tensor, got shape \(4, 3\)"):
        linear_cross_entropy(h, Tensor(np.zeros((4, 3), np.float32)), [0, 1, 2])
    with pytest.raises(ValueError, match=r"bias must be a \(4,\) Tensor"):
        linear_cross_entropy(h, w, [0, 1, 2], bias=Tensor(np.zeros(3, np.float32)))
    with pytest.raises(TypeError, match="weight has dtype float64"):
        linear_cross_entropy(h, Tensor(np.zeros((4, 2))), [0, 1, 2])
    with pytest.raises(TypeError, match="must be integers"):
        linear_cross_entropy(h, w, [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="chunk_size must be a positive int or None, got 0"):
        linear_cross_entropy(h, w, [0, 1, 2], chunk_size=0)
    with pytest.raises(ValueError, match="reduction must be one of"):
        linear_cross_entropy(h, w, [0, 1, 2], reduction="avg")


def test_peak_memory_is_a_chunk_not_the_logits():
    """With V = 4096 and N = 512 the logits are 8 MiB; the fused op must stay far below."""
    rng = np.random.default_rng(0)
    n, d, v = 512, 16, 4096
    h = Tensor(rng.standard_normal((n, d)).astype(np.float32), requires_grad=True)
    w = Tensor(rng.standard_normal((v, d)).astype(np.float32) * 0.1, requires_grad=True)
    t = rng.integers(0, v, n)
    logits_bytes = n * v * 4

    def peak(fn):
        tracemalloc.start()
        fn().backward()
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    fused = peak(lambda: linear_cross_entropy(h, w, t, chunk_size=32))
    unfused = peak(lambda: F.cross_entropy(F.linear(h, w), t))
    grads = (n * d + v * d) * 4  # the gradients themselves, which both paths must return
    assert fused < grads + logits_bytes / 4
    assert unfused > logits_bytes
