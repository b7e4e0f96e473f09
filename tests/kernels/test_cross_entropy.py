"""Fused cross-entropy kernels vs the one-hot reference, PyTorch and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.kernels import (
    cross_entropy_backward,
    cross_entropy_forward,
    cross_entropy_reference,
)

IGNORE = -100


@st.composite
def ce_case(draw: st.DrawFn, dtype=np.float64):
    N = draw(st.integers(0, 6))
    C = draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([1.0, 30.0]))
    logits = (rng.standard_normal((N, C)) * scale).astype(dtype)
    target = rng.integers(0, C, N)
    target[rng.random(N) < 0.25] = IGNORE
    eps = draw(st.sampled_from([0.0, 0.1, 0.7]))
    return logits, target, eps


def fwd_bwd(logits, target, eps, grad=None, **kw):
    loss, state = cross_entropy_forward(logits, target, label_smoothing=eps, **kw)
    if grad is None:
        grad = np.ones(len(target), logits.dtype)
    return loss, cross_entropy_backward(state, grad)


@given(ce_case(), st.sampled_from([np.float64, np.float32]))
def test_matches_reference(case, dtype):
    logits, target, eps = case
    logits = logits.astype(dtype)
    loss, grad = fwd_bwd(logits, target, eps)
    ref_loss, ref_grad = cross_entropy_reference(logits, target, label_smoothing=eps)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    assert loss.dtype == dtype and grad.dtype == dtype
    np.testing.assert_allclose(loss, ref_loss, rtol=tol, atol=tol * 30)
    np.testing.assert_allclose(grad, ref_grad, rtol=tol, atol=tol)


@pytest.mark.nojit
def test_small_example_and_ignore():
    logits = np.array([[0.0, 0.0], [1.0, 2.0], [np.nan, 0.0]])
    loss, state = cross_entropy_forward(logits, np.array([1, 0, IGNORE]))
    np.testing.assert_allclose(loss, [np.log(2), np.log1p(np.e), 0.0])
    grad = cross_entropy_backward(state, np.array([1.0, 2.0, 5.0]))
    p = 1 / (1 + np.e)
    np.testing.assert_allclose(grad, [[0.5, -0.5], [2 * (p - 1), 2 * (1 - p)], [0, 0]])
    assert state.consumed and grad is state.exp_shifted  # in place, no new (N, C) array
    buf = np.full((3, 2), 7.0)
    loss2, state2 = cross_entropy_forward(logits, np.array([1, 0, IGNORE]), out=buf)
    np.testing.assert_array_equal(loss2, loss)
    assert cross_entropy_backward(state2, np.array([1.0, 2.0, 5.0])) is buf
    np.testing.assert_allclose(buf, grad)
    with pytest.raises(RuntimeError, match="already called"):
        cross_entropy_backward(state, np.ones(3))


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    N, C, h = 4, 5, 1e-6
    logits = rng.standard_normal((N, C)) * 2
    target = np.array([0, 4, IGNORE, 2])
    weights = rng.standard_normal(N)  # upstream gradient of each row's loss
    for eps in (0.0, 0.2):

        def f(x, eps=eps):
            return float(weights @ cross_entropy_forward(x, target, label_smoothing=eps)[0])

        _, grad = fwd_bwd(logits, target, eps, grad=weights)
        numeric = np.zeros_like(logits)
        for idx in np.ndindex(N, C):  # every element, central differences
            plus, minus = logits.copy(), logits.copy()
            plus[idx] += h
            minus[idx] -= h
            numeric[idx] = (f(plus) - f(minus)) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_stability_large_logits_and_infinities():
    inf, nan = np.inf, np.nan
    logits = np.array(
        [
            [1e4, -1e4, 0.0],
            [-1e4, 1e4, 1e4],
            [0.0, -inf, 1.0],  # -inf off target: finite
            [-inf, 0.0, 1.0],  # target at -inf: inf
            [-inf, -inf, -inf],  # all -inf: NaN
            [0.0, nan, 1.0],  # NaN: NaN
        ]
    )
    target = np.array([0, 0, 2, 0, 1, 0])
    loss, state = cross_entropy_forward(logits, target)
    np.testing.assert_allclose(loss[:3], [0.0, 2e4 + np.log(2), np.log1p(np.exp(-1.0))])
    assert loss[3] == np.inf and np.isnan(loss[4]) and np.isnan(loss[5])
    grad = cross_entropy_backward(state, np.ones(6))
    assert np.isfinite(grad[:4]).all()
    np.testing.assert_allclose(grad[3], [0.0 - 1.0, 1 / (1 + np.e), np.e / (1 + np.e)])
    assert np.isnan(grad[5]).all()
    loss32, _ = cross_entropy_forward(logits[:2].astype(np.float32), target[:2])
    np.testing.assert_allclose(loss32, [0.0, 2e4 + np.log(2)], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_anywhere_in_a_wide_row_gives_nan(dtype):
    # C = 40: positions 0..31 go through the 16-lane max, 32..39 through the scalar tail
    rng = np.random.default_rng(6)
    logits = rng.standard_normal((6, 40)).astype(dtype)
    for row, col in enumerate([0, 5, 17, 31, 36]):
        logits[row, col] = np.nan
    logits[5, 33] = np.inf  # +inf: NaN as well (inf - inf)
    loss, _ = cross_entropy_forward(logits, np.full(6, 2))
    assert np.isnan(loss).all()
    clean = rng.standard_normal((6, 40)).astype(dtype)
    clean[2, :] = -np.inf  # all -inf: NaN
    clean[3, 7] = -np.inf  # one -inf off target: finite
    loss, _ = cross_entropy_forward(clean, np.full(6, 2))
    assert np.isnan(loss[2]) and np.isfinite(np.delete(loss, 2)).all()


@pytest.mark.torch
@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_torch(eps, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    N, C = 64, 37
    logits = (rng.standard_normal((N, C)) * 5).astype(dtype)
    logits[0, :] = -np.inf  # ignored below: our gradient is 0 there, torch gives 0 * NaN = NaN
    logits[1, 3] = -np.inf
    logits[2, :] *= 2000  # large logits (~1e4)
    target = rng.integers(0, C, N)
    target[[0, 5, 9]] = IGNORE
    weights = rng.random(N).astype(dtype)
    loss, grad = fwd_bwd(logits, target, eps, grad=weights)
    x = torch.tensor(logits, requires_grad=True)
    t_loss = torch.nn.functional.cross_entropy(
        x, torch.tensor(target), reduction="none", ignore_index=IGNORE, label_smoothing=eps
    )
    (t_loss * torch.tensor(weights)).sum().backward()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(loss, t_loss.detach().numpy(), rtol=tol, atol=tol)
    assert not grad[0].any()
    np.testing.assert_allclose(grad[1:], x.grad.numpy()[1:], rtol=tol, atol=tol)


@pytest.mark.torch
def test_infinities_like_torch():
    torch = pytest.importorskip("torch")
    logits = np.array([[-np.inf, 0.0, 1.0], [-np.inf] * 3, [0.0, np.nan, 1.0], [0, -np.inf, 1]])
    target = np.array([0, 1, 0, 2])
    for eps in (0.0, 0.1):
        loss, _ = cross_entropy_forward(logits, target, label_smoothing=eps)
        t_loss = torch.nn.functional.cross_entropy(
            torch.tensor(logits), torch.tensor(target), reduction="none", label_smoothing=eps
        )
        np.testing.assert_array_equal(loss, t_loss.numpy())  # inf, NaN, NaN, finite/inf


def test_large_threaded_matches_reference():
    rng = np.random.default_rng(5)
    N, C = 600, 1000  # above the threshold for the threaded forward
    logits = (rng.standard_normal((N, C)) * 4).astype(np.float32)
    target = rng.integers(0, C, N)
    target[::7] = IGNORE
    loss, grad = fwd_bwd(logits, target, 0.05)
    ref_loss, ref_grad = cross_entropy_reference(logits, target, label_smoothing=0.05)
    np.testing.assert_allclose(loss, ref_loss, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(grad, ref_grad, rtol=2e-5, atol=2e-6)


@pytest.mark.nojit
def test_errors():
    logits = np.zeros((2, 5))
    with pytest.raises(IndexError, match=r"target 7 .*5 classes"):
        cross_entropy_forward(logits, np.array([1, 7]))
    with pytest.raises(IndexError, match=r"target -1 "):
        cross_entropy_forward(logits, np.array([-1, 0]))
    cross_entropy_forward(logits, np.array([-1, 0]), ignore_index=-1)  # fine when ignored
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        cross_entropy_forward(logits, np.array([1, 2, 3]))
    with pytest.raises(TypeError, match="float32 or float64"):
        cross_entropy_forward(logits.astype(np.int64), np.array([1, 2]))
    with pytest.raises(TypeError, match="integer"):
        cross_entropy_forward(logits, np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="label_smoothing"):
        cross_entropy_forward(logits, np.array([1, 2]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="2-D"):
        cross_entropy_forward(np.zeros(5), np.array([1]))
    with pytest.raises(ValueError, match="overlap"):
        cross_entropy_forward(logits, np.array([1, 2]), out=logits)
    with pytest.raises(ValueError, match=r"\(2, 5\).*float64.*\(2, 4\)"):
        cross_entropy_forward(logits, np.array([1, 2]), out=np.zeros((2, 4)))
    _, state = cross_entropy_forward(logits, np.array([1, 2]))
    with pytest.raises(ValueError, match=r"\(2,\)"):
        cross_entropy_backward(state, np.ones(3))
