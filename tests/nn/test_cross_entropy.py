"""cross_entropy: fused, equal to the one-hot formula, to PyTorch, and to finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.nn import functional as F
from minigrad.testing import gradcheck, gradgradcheck

IGNORE = -100


@st.composite
def ce_cases(draw, max_side=4):
    """(logits, target, reduction, label_smoothing, ignore_index) for (N, C) or (N, C, d1)."""
    n = draw(st.integers(1, max_side))
    c = draw(st.integers(1, 5))
    extra = draw(st.sampled_from([(), (2,)]))
    logits = draw(hnp.arrays(np.float64, (n, c, *extra), elements=st.floats(-5, 5)))
    ignore = draw(st.sampled_from([IGNORE, 0]))
    t_elems = st.integers(0, c - 1) | st.just(ignore)
    target = draw(hnp.arrays(np.int64, (n, *extra), elements=t_elems))
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    eps = draw(st.sampled_from([0.0, 0.1, 0.35]))
    return logits, target, reduction, eps, ignore


def one_hot_reference(logits, target, reduction, eps, ignore):
    """-(q * log_softmax(logits)).sum(class axis), built from minigrad's unfused ops."""
    z = logits if logits.ndim == 2 else logits.permute(0, 2, 1)  # classes last
    c = z.shape[-1]
    valid = target != ignore
    q = F.one_hot(np.where(valid, target, 0), c).to(np.float64) * (1 - eps) + eps / c
    rows = -(q * z.log_softmax(-1)).sum(-1) * mg.tensor(valid.astype(np.float64))
    if reduction == "none":
        return rows
    if reduction == "sum":
        return rows.sum()
    return rows.sum() / valid.sum()


@given(ce_cases())
def test_equals_one_hot_formula_and_passes_gradcheck(case):
    x, target, reduction, eps, ignore = case
    if reduction == "mean" and not (target != ignore).any():
        target = target.copy()
        target.flat[0] = 0 if ignore != 0 else x.shape[1] - 1  # keep the mean defined here
        if target.flat[0] == ignore:
            return
    X = mg.tensor(x, requires_grad=True)

    def loss(t):
        return F.cross_entropy(
            t, target, ignore_index=ignore, reduction=reduction, label_smoothing=eps
        )

    got = loss(X)
    ref = one_hot_reference(mg.tensor(x), target, reduction, eps, ignore)
    np.testing.assert_allclose(got.data, ref.data, rtol=1e-10, atol=1e-12)
    assert gradcheck(loss, X)
    assert gradgradcheck(loss, X)  # the double backward: softmax's Jacobian per row


@pytest.mark.torch
@given(ce_cases())
def test_matches_pytorch_loss_and_gradient(case):
    torch = pytest.importorskip("torch")
    x, target, reduction, eps, ignore = case
    X = mg.tensor(x, requires_grad=True)
    out = F.cross_entropy(X, target, ignore_index=ignore, reduction=reduction, label_smoothing=eps)
    tx = torch.tensor(x, requires_grad=True)
    tout = torch.nn.functional.cross_entropy(
        tx,
        torch.from_numpy(target),
        ignore_index=ignore,
        reduction=reduction,
        label_smoothing=eps,
    )
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(g)
    tout.backward(torch.from_numpy(g))
    np.testing.assert_allclose(X.grad, tx.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_fused_is_one_node_over_the_logits():
    X = mg.randn(3, 4, requires_grad=True)
    loss = F.cross_entropy(X, [0, 1, 3])
    assert loss.grad_fn.name == "CrossEntropyBackward"
    assert loss.grad_fn.inputs == (X,)  # no one-hot, no log_softmax node in between


def test_ignored_rows_leave_the_denominator_and_all_ignored_mean_is_nan():
    x = np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]])
    X = mg.tensor(x, requires_grad=True)
    loss = F.cross_entropy(X, [0, IGNORE, 1], label_smoothing=0.2)
    rows = F.cross_entropy(mg.tensor(x), [0, 1, 1], reduction="none", label_smoothing=0.2).data
    np.testing.assert_allclose(loss.item(), (rows[0] + rows[2]) / 2)  # / 2, not / 3
    loss.backward()
    assert not X.grad[1].any()

    Y = mg.tensor(x, requires_grad=True)
    nan = F.cross_entropy(Y, [IGNORE] * 3)
    assert np.isnan(nan.item())
    nan.backward()
    np.testing.assert_array_equal(Y.grad, 0.0)
    assert F.cross_entropy(mg.tensor(x), [IGNORE] * 3, reduction="sum").item() == 0.0


def test_empty_batch_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = np.zeros((0, 5))
    for reduction in ("mean", "sum", "none"):
        X = mg.tensor(x, requires_grad=True)
        out = F.cross_entropy(X, np.zeros(0, np.int64), reduction=reduction)
        ref = torch.nn.functional.cross_entropy(
            torch.tensor(x), torch.zeros(0, dtype=torch.long), reduction=reduction
        )
        np.testing.assert_array_equal(out.data, ref.numpy())  # nan for mean, 0 for sum
        out.sum().backward()
        assert X.grad.shape == (0, 5)


def test_single_vector_with_0d_target():
    torch = pytest.importorskip("torch")
    x = np.array([0.5, -1.0, 2.0])
    out = F.cross_entropy(mg.tensor(x), np.array(2))
    ref = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(2))
    assert out.shape == () and np.isclose(out.item(), ref.item())


def test_stable_for_huge_and_minus_inf_logits_nan_gives_nan():
    x = np.array([[1e4, -1e4, 0.0], [-np.inf, 0.0, 1.0], [np.nan, 0.0, 0.0]], np.float32)
    X = mg.tensor(x, requires_grad=True)
    rows = F.cross_entropy(X, [0, 2, 1], reduction="none")
    assert rows.data[0] == 0.0
    np.testing.assert_allclose(rows.data[1], np.log(1 + np.e**-1), rtol=1e-6)
    assert np.isnan(rows.data[2])
    assert np.isnan(F.cross_entropy(mg.tensor(x), [0, 2, 1]).item())
    rows.sum().backward()
    assert np.isfinite(X.grad[:2]).all() and X.grad[1, 0] == 0
    assert F.cross_entropy(mg.tensor(x[1:2]), [0], reduction="sum").item() == np.inf


def test_errors_name_the_bad_value():
    x = mg.randn(2, 3)
    with pytest.raises(TypeError, match="float64"):
        F.cross_entropy(x, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"target must have shape \(2,\).*got \(3,\)"):
        F.cross_entropy(x, [0, 1, 2])
    with pytest.raises(ValueError, match=r"\(2, 4\)"):
        F.cross_entropy(mg.randn(2, 3, 4), [0, 1])
    with pytest.raises(IndexError, match="target 3 is out of range for 3 classes"):
        F.cross_entropy(x, [0, 3])
    with pytest.raises(IndexError, match="target -1"):
        F.cross_entropy(x, [-1, 0])
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, [0, 1], reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, [0, 1], label_smoothing=1.5)


def test_second_backward_with_retain_graph_gives_the_same_gradient():
    X = mg.randn(4, 6, requires_grad=True)
    loss = F.cross_entropy(X, [0, 5, 2, 2], label_smoothing=0.1)
    loss.backward(retain_graph=True)
    first = X.grad.copy()
    loss.backward()
    np.testing.assert_allclose(X.grad, 2 * first, rtol=1e-6)


def test_softmax_and_log_softmax_wrappers():
    x = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(F.softmax(mg.tensor(x)).data.sum(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(
        F.log_softmax(mg.tensor(x), dim=1).data, np.log(np.exp(x) / np.exp(x).sum()), rtol=1e-6
    )


def test_one_hot_is_int64_and_validates():
    oh = F.one_hot(np.array([[0, 2]]))
    assert oh.dtype == np.int64 and oh.shape == (1, 2, 3)
    np.testing.assert_array_equal(oh.data[0], [[1, 0, 0], [0, 0, 1]])
    with pytest.raises(IndexError, match="one_hot id 3 is out of range for num_classes=3"):
        F.one_hot([0, 3], 3)
    with pytest.raises(IndexError, match="id -1"):
        F.one_hot([-1, 0], 3)
    with pytest.raises(TypeError):
        F.one_hot([0.5])
