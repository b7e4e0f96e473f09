"""``assert_matches_torch``: agreement passes; every disagreement (forward or gradient) is named
with its worst element; without PyTorch the test is skipped with the reason."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.autograd import Function
from minigrad.testing import assert_matches_torch


def leaf(values, dtype="float64"):
    return mg.tensor(np.asarray(values), dtype=dtype, requires_grad=True)


class TanhWrongBackward(Function):
    """tanh with backward ``1 - y`` instead of ``1 - y^2``."""

    def forward(self, a):
        self.y = np.tanh(a)
        return self.y

    def backward(self, grad):
        return grad * (1 - self.y)


REPORT = re.compile(
    r"worst at element (?P<index>\([\d, ]*\)): minigrad (?P<mg>[-\d.e+naif]+), "
    r"torch (?P<torch>[-\d.e+naif]+) \(abs error (?P<abs>[-\d.e+]+), rel error "
    r"(?P<rel>[-\d.e+inf]+); allowed atol \+ rtol \* \|torch\| = (?P<allowed>[-\d.e+]+) "
    r"with atol=(?P<atol>[-\d.e+]+), rtol=(?P<rtol>[-\d.e+]+)\)"
)


def test_skips_with_a_clear_reason_when_torch_is_absent(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(pytest.skip.Exception, match="PyTorch is not installed"):
        assert_matches_torch(lambda t: t * 2, lambda t: t * 2, leaf([1.0]))


torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def test_agreeing_ops_pass():
    x = leaf([[0.5, -1.0, 2.0], [1.0, 0.2, -0.3]])
    assert_matches_torch(lambda t: t.tanh(), torch.tanh, x)
    assert_matches_torch(lambda t: (t * t).sum(dim=1), lambda t: (t * t).sum(dim=1), x)
    # numpy arrays become torch tensors for torch_fn (integer targets, here)
    assert_matches_torch(F.cross_entropy, torch.nn.functional.cross_entropy, x, np.array([2, 0]))
    # several outputs (values and indices), only the float one differentiable
    assert_matches_torch(lambda t: t.max(dim=1), lambda t: t.max(dim=1), x)
    # float32 under float32's default tolerance
    x32 = leaf([[0.5, -1.0, 2.0]], dtype="float32")
    assert_matches_torch(lambda t: t.sigmoid() * t, lambda t: t.sigmoid() * t, x32)


def test_two_outputs_sharing_a_graph_are_both_backpropagated():
    x = leaf([0.5, -1.0, 2.0])
    assert_matches_torch(lambda t: (t.tanh(), t.tanh() * t), lambda t: (t.tanh(), t.tanh() * t), x)
    with pytest.raises(AssertionError, match="gradient of input 0"):
        assert_matches_torch(
            lambda t: (t * 2, TanhWrongBackward.apply(t)), lambda t: (t * 2, t.tanh()), x
        )


def test_embedding_with_row_sparse_gradients_matches_torch():
    weight = leaf(np.arange(12.0).reshape(4, 3) / 10)
    ids = np.array([[0, 3], [3, 3]])
    assert_matches_torch(
        lambda w, i: F.embedding(i, w, sparse=True),
        lambda w, i: torch.nn.functional.embedding(i, w, sparse=True),
        weight,
        ids,
    )


def test_a_wrong_forward_is_reported_with_its_worst_element():
    x = leaf([[0.5, -1.0, 2.0], [1.0, 0.2, -0.3]])
    with pytest.raises(AssertionError) as exc_info:
        off = np.array([[1, 1, 1.0001], [1, 1, 1]])  # x[0, 2] is off by 1e-4 relative
        assert_matches_torch(lambda t: t.tanh() * off, torch.tanh, x)
    msg = str(exc_info.value)
    assert "output (shape (2, 3), float64): 1 of 6 elements differ" in msg
    r = REPORT.search(msg)
    assert r, msg
    assert r["index"] == "(0, 2)"
    assert float(r["torch"]) == pytest.approx(np.tanh(2.0), rel=1e-15)
    assert float(r["mg"]) == pytest.approx(np.tanh(2.0) * 1.0001, rel=1e-15)
    assert float(r["abs"]) == pytest.approx(np.tanh(2.0) * 1e-4, rel=1e-2)
    assert float(r["rel"]) == pytest.approx(1e-4, rel=1e-2)
    assert (float(r["atol"]), float(r["rtol"])) == (1e-7, 1e-7)  # float64 defaults
    assert "gradient" not in msg  # outputs differ: gradients are not compared on top


def test_a_wrong_backward_is_reported_per_input():
    x = leaf([0.5, -1.0, 2.0])
    y = leaf([1.0, 1.0, 1.0])
    with pytest.raises(AssertionError) as exc_info:
        assert_matches_torch(
            lambda a, b: TanhWrongBackward.apply(a) + b, lambda a, b: a.tanh() + b, x, y
        )
    msg = str(exc_info.value)
    assert "gradient of input 0 (shape (3,), float64): 3 of 3 elements differ" in msg
    assert "input 1" not in msg  # b's gradient is right
    r = REPORT.search(msg)
    assert r, msg
    # the same upstream gradient as the helper (seed 0), through 1 - y^2 (torch) and 1 - y
    g = np.random.default_rng(0).standard_normal(3)
    y = np.tanh(x.data)
    right, wrong = g * (1 - y * y), g * (1 - y)
    worst = int(np.argmax(np.abs(wrong - right) / (1e-7 + 1e-7 * np.abs(right))))
    assert r["index"] == f"({worst},)"
    assert float(r["mg"]) == pytest.approx(wrong[worst], rel=1e-12)
    assert float(r["torch"]) == pytest.approx(right[worst], rel=1e-12)


def test_tolerances_can_be_given():
    x = leaf([1.0, 2.0])
    off = lambda t: t * (1 + 1e-6)  # noqa: E731
    with pytest.raises(AssertionError):
        assert_matches_torch(off, lambda t: t * 1, x, grad=False)
    assert_matches_torch(off, lambda t: t * 1, x, rtol=1e-5, grad=False)
    assert_matches_torch(off, lambda t: t * 1, x, atol=1e-5, rtol=0)


def test_shape_dtype_and_requires_grad_mismatches_are_named():
    x = leaf([1.0, 2.0])
    with pytest.raises(
        AssertionError, match=r"output: shape \(2,\) in minigrad, \(1, 2\) in torch"
    ):
        assert_matches_torch(lambda t: t * 2, lambda t: (t * 2)[None], x)
    with pytest.raises(AssertionError, match="dtype float64 in minigrad, float32 in torch"):
        assert_matches_torch(lambda t: t * 2, lambda t: (t * 2).float(), x)
    assert_matches_torch(
        lambda t: t * 2, lambda t: (t * 2).float(), x, check_dtype=False, atol=1e-6
    )
    with pytest.raises(AssertionError, match="requires_grad is False in minigrad, True in torch"):
        assert_matches_torch(lambda t: t.detach() * 2, lambda t: t * 2, x)
    with pytest.raises(AssertionError, match="minigrad returned 2 outputs, torch 1"):
        assert_matches_torch(lambda t: (t, t), lambda t: t, x)


def test_inputs_are_not_touched():
    x = leaf([0.5, -1.0])
    x.grad = np.array([7.0, 8.0])
    before = x.data.copy()
    assert_matches_torch(lambda t: t.tanh(), torch.tanh, x)
    np.testing.assert_array_equal(x.data, before)
    np.testing.assert_array_equal(x.grad, [7.0, 8.0])


def test_failure_traceback_hides_the_helpers_frames():
    x = leaf([0.5, -1.0])
    with pytest.raises(AssertionError) as exc_info:
        assert_matches_torch(lambda t: t * 3, lambda t: t * 2, x)
    shown = exc_info.traceback.filter(exc_info)
    assert not [e for e in shown if Path(str(e.path)).name == "torch_compare.py"]
