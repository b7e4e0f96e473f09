"""The dense Adam/AdamW kernel: equal to its numpy reference, and to torch.optim in float32."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad import nn, optim
from minigrad.kernels import adam_dense_, adam_dense_reference

_HYPER = st.fixed_dictionaries(
    {
        "beta1": st.sampled_from([0.0, 0.5, 0.9]),
        "beta2": st.sampled_from([0.9, 0.999]),
        "eps": st.sampled_from([1e-8, 1e-3]),
        "weight_decay": st.sampled_from([0.0, 0.01, 0.3]),
        "lr": st.sampled_from([1e-3, 0.1]),
        "decoupled": st.booleans(),
    }
)


@settings(max_examples=40, deadline=None)
@given(
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6),
    dtype=st.sampled_from([np.float32, np.float64]),
    hyper=_HYPER,
    steps=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_adam_dense_kernel_matches_numpy_reference(shape, dtype, hyper, steps, seed):
    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal(shape).astype(dtype)
    p, pr = p0.copy(), p0.copy()
    m, v, mr, vr = (np.zeros_like(p0) for _ in range(4))
    for t in range(1, steps + 1):
        g = rng.standard_normal(shape).astype(dtype)
        adam_dense_(p, g, m, v, step=t, **hyper)
        kw = dict(hyper)
        adam_dense_reference(
            pr, g, mr, vr, kw["beta1"], kw["beta2"], kw["eps"], kw["weight_decay"], kw["lr"],
            kw["decoupled"], t,
        )  # fmt: skip
    tol = 2e-6 if dtype == np.float32 else 1e-14
    for got, want in ((p, pr), (m, mr), (v, vr)):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.nojit
def test_adam_dense_layouts_and_bad_input():
    rng = np.random.default_rng(3)
    p = rng.standard_normal((4, 5)).astype(np.float32)
    g = rng.standard_normal((4, 5)).astype(np.float32)
    kw = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.1, "lr": 0.01}
    fast, m1, v1 = p.copy(), np.zeros_like(p), np.zeros_like(p)
    adam_dense_(fast, g, m1, v1, decoupled=True, step=1, **kw)
    slow = np.asfortranarray(p)  # not C-contiguous: the numpy path
    m2, v2 = np.zeros_like(slow), np.zeros_like(slow)
    adam_dense_(slow, np.asfortranarray(g), m2, v2, decoupled=True, step=1, **kw)
    np.testing.assert_allclose(fast, slow, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="one shape"):
        adam_dense_(p, g[:3], m1, v1, decoupled=True, step=2, **kw)
    with pytest.raises(ValueError, match="step count"):
        adam_dense_(p, g, m1, v1, decoupled=True, step=0, **kw)


@pytest.mark.torch
@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("Adam", {"lr": 0.01}),
        ("Adam", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05}),
        ("AdamW", {"lr": 1e-3}),
        ("AdamW", {"lr": 0.1, "betas": (0.5, 0.9), "weight_decay": 0.2}),
    ],
)
def test_adam_float32_kernel_matches_torch(name, kw):
    """float32, the kernel's path: the same steps as torch.optim to float32 rounding."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    w0 = rng.standard_normal((33, 17)).astype(np.float32)
    p = nn.Parameter(w0.copy())
    tp = torch.nn.Parameter(torch.tensor(w0.copy()))
    opt, topt = getattr(optim, name)([p], **kw), getattr(torch.optim, name)([tp], **kw)
    for _ in range(6):
        g = rng.standard_normal(w0.shape).astype(np.float32)
        p.grad, tp.grad = g.copy(), torch.tensor(g)
        opt.step()
        topt.step()
    np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-5, atol=1e-6)
    st_ = topt.state[tp]
    np.testing.assert_allclose(opt.state[p]["exp_avg_sq"], st_["exp_avg_sq"].numpy(), rtol=1e-5)
