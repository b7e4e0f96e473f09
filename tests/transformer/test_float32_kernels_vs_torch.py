"""The float32 paths (the compiled kernels) against PyTorch, forward and backward.

float64 runs each kernel's numpy reference, which the gradchecks and the float64 differential
tests cover; these hold the float32 kernels themselves to torch's float32 results: GELU (erf
form), LayerNorm, causal attention and the fused linear cross-entropy (AdamW: in
tests/optim/test_adam_dense_kernel.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.nn import functional as F
from minigrad.testing import assert_matches_torch

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

_TOL = {"atol": 2e-5, "rtol": 2e-4}


def _f32(shape, seed, scale=1.0):
    return mg.Tensor(
        (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32),
        requires_grad=True,
    )


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 2**16), scale=st.sampled_from([1.0, 6.0]))
def test_gelu_float32_matches_torch(n, seed, scale):
    assert_matches_torch(F.gelu, torch.nn.functional.gelu, _f32((n,), seed, scale), **_TOL)


@settings(max_examples=15, deadline=None)
@given(rows=st.integers(1, 20), d=st.integers(1, 70), seed=st.integers(0, 2**16))
def test_layer_norm_float32_matches_torch(rows, d, seed):
    x, w, b = _f32((rows, d), seed, 3.0), _f32((d,), seed + 1), _f32((d,), seed + 2)
    assert_matches_torch(
        lambda x, w, b: F.layer_norm(x, (d,), w, b),
        lambda x, w, b: torch.nn.functional.layer_norm(x, (d,), w, b),
        x, w, b, atol=1e-4, rtol=1e-3,
    )  # fmt: skip


@settings(max_examples=15, deadline=None)
@given(b=st.integers(1, 3), t=st.integers(1, 20), h=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_causal_attention_float32_matches_torch(b, t, h, seed):
    hd = 4
    d = h * hd

    def theirs(qkv):
        q, k, v = (x.reshape(b, t, h, hd).transpose(1, 2) for x in qkv.split(d, dim=-1))
        o = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        return o.transpose(1, 2).reshape(b, t, d)

    assert_matches_torch(
        lambda qkv: F.causal_attention(qkv, h), theirs, _f32((b, t, 3 * d), seed, 2.0), **_TOL
    )


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 40), v=st.integers(2, 300), seed=st.integers(0, 2**16))
def test_linear_cross_entropy_float32_matches_torch(n, v, seed):
    h, w = _f32((n, 8), seed), _f32((v, 8), seed + 1, 0.5)
    target = np.random.default_rng(seed).integers(0, v, n)
    target[::3] = -100
    if (target == -100).all():
        target[0] = 0
    assert_matches_torch(
        lambda h, w, t: F.linear_cross_entropy(h, w, t),
        lambda h, w, t: torch.nn.functional.cross_entropy(h @ w.T, t),
        h, w, target, **_TOL,
    )  # fmt: skip
