"""cross_entropy's weight=, class-probability targets and nn.CrossEntropyLoss (issue 18.6).

Every combination PyTorch defines (weights with ignore_index and label smoothing, probability
targets with weights and smoothing, every reduction, (N, C) and (N, C, d) layouts) against
torch.nn.functional.cross_entropy in float64, and each new gradient against finite differences.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.testing import assert_matches_torch, gradcheck, gradgradcheck

IGNORE = -100


@st.composite
def weighted_cases(draw, probabilities=False):
    """(logits, target, weight, ignore_index, reduction, eps): float64, small."""
    n = draw(st.integers(1, 4))
    c = draw(st.integers(1, 4))
    extra = draw(st.sampled_from([(), (2,)]))
    logits = draw(hnp.arrays(np.float64, (n, c, *extra), elements=st.floats(-4, 4)))
    weight = draw(st.none() | hnp.arrays(np.float64, (c,), elements=st.floats(0.1, 3.0)))
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    eps = draw(st.sampled_from([0.0, 0.1, 0.35]))
    if probabilities:
        target = draw(hnp.arrays(np.float64, logits.shape, elements=st.floats(0, 1)))
        return logits, target, weight, IGNORE, reduction, eps
    ignore = draw(st.sampled_from([IGNORE, 0]))
    elements = st.integers(0, c - 1) | st.just(ignore)
    target = draw(hnp.arrays(np.int64, (n, *extra), elements=elements))
    return logits, target, weight, ignore, reduction, eps


def _loss(case, functional=F):
    """The loss of ``case`` through ``functional`` (minigrad's or torch's), as a function of
    (logits, target, weight), arguments in PyTorch's order."""
    _, _, _, ignore, reduction, eps = case

    def fn(x, target, weight):
        return functional.cross_entropy(
            x, target, weight, ignore_index=ignore, reduction=reduction, label_smoothing=eps
        )

    return fn


def _torch_loss(case):
    torch = pytest.importorskip("torch", reason="differential test: needs PyTorch")
    return _loss(case, torch.nn.functional)


@pytest.mark.torch
@given(weighted_cases())
def test_class_targets_with_weights_ignore_index_and_smoothing_match_torch(case):
    logits, target, weight, *_ = case
    x = mg.tensor(logits, requires_grad=True)
    with np.errstate(all="ignore"):  # every row ignored: "mean" is 0 / 0 in both
        assert_matches_torch(_loss(case), _torch_loss(case), x, target, weight)


@pytest.mark.torch
@given(weighted_cases(probabilities=True), st.booleans())
def test_probability_targets_with_weights_and_smoothing_match_torch(case, target_grad):
    logits, target, weight, *_ = case
    q = mg.tensor(target, requires_grad=True) if target_grad else target  # torch: differentiable
    x = mg.tensor(logits, requires_grad=True)
    assert_matches_torch(_loss(case), _torch_loss(case), x, q, weight)


@given(weighted_cases())
def test_weighted_class_targets_pass_gradcheck(case):
    logits, target, weight, ignore, reduction, _ = case
    if weight is None:
        weight = np.linspace(0.5, 2.0, logits.shape[1])
    if reduction == "mean" and not (target != ignore).any():
        return  # 0 / 0: no gradient to check
    fn = _loss(case)
    x = mg.tensor(logits, requires_grad=True)
    assert gradcheck(lambda x: fn(x, target, weight), x)
    assert gradgradcheck(lambda x: fn(x, target, weight), x)  # backward_graph: create_graph=True


@given(weighted_cases(probabilities=True))
def test_probability_targets_pass_gradcheck_for_logits_and_target(case):
    logits, target, weight, *_ = case
    fn = _loss(case)
    x, q = mg.tensor(logits, requires_grad=True), mg.tensor(target, requires_grad=True)
    assert gradcheck(lambda x, q: fn(x, q, weight), x, q)
    assert gradgradcheck(lambda x, q: fn(x, q, weight), x, q)  # d2/dz2 and d2/dz dq


def test_the_weighted_mean_divides_by_the_targets_weights():
    # rows of loss log 2 each, targets 0, 1, ignored; weights 1 and 3: (1 + 3) log 2 / (1 + 3)
    x = mg.tensor(np.zeros((3, 2)))
    loss = F.cross_entropy(x, [0, 1, IGNORE], weight=[1.0, 3.0])
    np.testing.assert_allclose(loss.item(), np.log(2), rtol=1e-6)
    rows = F.cross_entropy(x, [0, 1, IGNORE], weight=[1.0, 3.0], reduction="none")
    np.testing.assert_allclose(rows.data, [np.log(2), 3 * np.log(2), 0.0], rtol=1e-6)
    assert np.isnan(F.cross_entropy(x, [IGNORE] * 3, weight=[1.0, 3.0]).item())


def test_wrong_weights_and_targets_are_refused_with_the_reason():
    x = mg.randn(2, 3)
    with pytest.raises(ValueError, match=r"one entry per class: shape \(3,\), got \(4,\)"):
        F.cross_entropy(x, [0, 1], weight=np.ones(4))
    with pytest.raises(TypeError, match="real numbers"):
        F.cross_entropy(x, [0, 1], weight=np.array(["a", "b", "c"]))
    with pytest.raises(ValueError, match=r"weight\.detach"):
        F.cross_entropy(x, [0, 1], weight=mg.ones(3, requires_grad=True))
    with pytest.raises(ValueError, match=r"ignore_index.*class-id targets only"):
        F.cross_entropy(x, np.full((2, 3), 1 / 3), ignore_index=0)
    with pytest.raises(TypeError, match="class probabilities and must be floating point"):
        F.cross_entropy(x, np.ones((2, 3), np.int64))
    with pytest.raises(TypeError, match="float64"):
        F.cross_entropy(x, np.array([0.0, 1.0]))  # the class-id shape holds floats
    with pytest.raises(ValueError, match=r"logits' shape \(2, 3\) \(3 classes\), got \(2, 4\)"):
        F.cross_entropy(x, np.full((2, 4), 0.25))  # probabilities for 4 classes, logits have 3


@pytest.mark.torch
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"weight": [0.5, 1.0, 2.0]},
        {"ignore_index": 1, "reduction": "sum"},
        {"label_smoothing": 0.2, "reduction": "none"},
        {"size_average": False},
        {"reduce": False},
    ],
)
def test_cross_entropy_loss_module_matches_torchs(kwargs):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((4, 3))
    target = np.array([0, 2, 1, 1])
    th_kwargs = dict(kwargs)
    if "weight" in kwargs:
        th_kwargs["weight"] = torch.tensor(kwargs["weight"], dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # size_average / reduce: both warn
        loss = nn.CrossEntropyLoss(**kwargs)
        th_loss = torch.nn.CrossEntropyLoss(**th_kwargs)
    assert loss.reduction == th_loss.reduction
    assert_matches_torch(loss, th_loss, mg.tensor(x, requires_grad=True), target)
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert nn.CrossEntropyLoss(size_average=False).reduction == "sum"


def test_the_fused_linear_cross_entropy_refuses_what_it_does_not_fuse():
    h, w = mg.randn(3, 4), mg.randn(5, 4)
    for kwargs in ({"class_weight": np.ones(5)}, {"label_smoothing": 0.1}):
        with pytest.raises(NotImplementedError, match=r"cross_entropy\(linear\(hidden"):
            F.linear_cross_entropy(h, w, [0, 1, 2], **kwargs)
    with pytest.raises(TypeError, match="integers"):
        F.linear_cross_entropy(h, w, np.full((3, 5), 0.2))  # class probabilities: not fused
