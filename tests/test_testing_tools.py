"""``minigrad.testing`` is public: gradcheck must catch wrong backwards and say where, and the
strategies must produce what their docstrings promise."""

from __future__ import annotations

import importlib
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.autograd import Function
from minigrad.testing import (
    GradcheckError,
    broadcastable_shapes,
    gradcheck,
    matmul_shapes,
    safe_floats,
    shapes,
    tensors,
)


def leaf(values):
    return mg.tensor(values, dtype="float64", requires_grad=True)


class SquareWrongGrad(Function):
    """y = x^2 with a backward that forgets the factor 2."""

    def forward(self, a):
        self.a = a
        return a * a

    def backward(self, grad):
        return grad * self.a  # should be 2 * a * grad


class MulWrongSecondInput(Function):
    """y = a * b, correct for a, wrong for b."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        return grad * self.b, grad * self.b  # b's gradient should be grad * a


class ReverseForgetsToReverse(Function):
    """y = x[::-1] with backward not reversing: right for y.sum(), wrong for anything else."""

    def forward(self, a):
        return a[::-1].copy()

    def backward(self, grad):
        return grad


class WrongAtOneElement(Function):
    """y = 3x, but the gradient of element (1, 2) is off by 1e-3."""

    def forward(self, a):
        return 3 * a

    def backward(self, grad):
        g = 3 * grad
        g[1, 2] += 1e-3
        return g


def _message(exc_info) -> str:
    return str(exc_info.value)


def test_gradcheck_catches_a_wrong_backward_and_names_input_element_and_values():
    x = leaf([0.5, -1.5, 2.0])
    with pytest.raises(GradcheckError) as exc_info:
        gradcheck(lambda t: SquareWrongGrad.apply(t).sum(), x)
    msg = _message(exc_info)
    # the worst entry (largest error for its tolerance) is x[2]: analytic a = 2, numeric 2a = 4
    assert "input 0" in msg and "element (2,)" in msg and "3 of 3 Jacobian entries differ" in msg
    # plain numbers, not "np.float64(0.5)": the message is read by people learning backprop
    numbers = [float(v) for v in re.findall(r"(?:analytic|numeric) ([-\d.e]+),? ", msg)]
    assert len(numbers) == 2, msg
    assert numbers[0] == pytest.approx(2.0) and numbers[1] == pytest.approx(4.0, rel=1e-6)


def test_gradcheck_names_the_right_input():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 5.0])
    with pytest.raises(GradcheckError, match=r"input 1 .*element \(0,\)"):
        gradcheck(lambda s, t: MulWrongSecondInput.apply(s, t).sum(), a, b)
    # a constant first argument shifts the index: inputs are numbered as passed
    with pytest.raises(GradcheckError, match=r"input 2 "):
        gradcheck(lambda c, s, t: MulWrongSecondInput.apply(s, t).sum() * c, 2.0, a, b)


def test_gradcheck_names_the_element_index():
    x = leaf(np.linspace(-1, 1, 12).reshape(3, 4))
    with pytest.raises(GradcheckError, match=re.escape("element (1, 2)")):
        gradcheck(lambda t: WrongAtOneElement.apply(t), x)


def test_gradcheck_checks_the_whole_jacobian_of_a_non_scalar_output():
    x = leaf([1.0, 2.0, 3.0])
    assert gradcheck(lambda t: ReverseForgetsToReverse.apply(t).sum(), x)  # blind spot of sum
    with pytest.raises(GradcheckError):
        gradcheck(lambda t: ReverseForgetsToReverse.apply(t), x)  # random projection sees it


def test_gradcheck_accepts_correct_ops_and_restores_inputs():
    x = leaf([[0.3, -0.7], [1.1, 2.0]])
    before = x.data.copy()
    assert gradcheck(lambda t: (t.exp() * t).sum(dim=1), x) is True
    np.testing.assert_array_equal(x.data, before)


@pytest.mark.nojit
@pytest.mark.parametrize("fast_mode", [True, False])
def test_gradcheck_of_an_op_whose_output_is_a_view_of_its_input(fast_mode):
    # the output shares memory with x, whose elements the finite differences move one by one
    x = leaf([[0.3, -0.7], [1.1, 2.0]])
    assert gradcheck(lambda t: t.reshape(-1), x, fast_mode=fast_mode)
    assert gradcheck(lambda t: t[0], x, fast_mode=fast_mode)
    assert gradcheck(lambda t: t.reshape(()), leaf([1.5]).reshape(()).detach().requires_grad_())


def test_gradcheck_input_requirements():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda t: t * 2, mg.tensor([1.0], requires_grad=True))
    with pytest.raises(ValueError, match="no input"):
        gradcheck(lambda t: t * 2, mg.tensor([1.0], dtype="float64"))
    with pytest.raises(ValueError, match="leaf"):
        gradcheck(lambda t: t * 2, leaf([1.0]) * 1)
    with pytest.raises(TypeError, match="Tensor"):
        gradcheck(lambda t: t.data, leaf([1.0]))
    with pytest.raises(GradcheckError, match="does not require grad"):
        gradcheck(lambda t: t.detach() * 2, leaf([1.0]))


# ----------------------------------------------------------------- gradcheck's failure report
class ScaleWithWrongFirstRow(Function):
    """y = 2x for x of shape (2, 3); backward scales row 0 by 3, 2.5, 2.1 instead of 2.

    So J = 2 I (36 entries for a (2, 3) output and input) and the analytic Jacobian differs
    from it in exactly 3 entries, the worst at x[0, 0]: 3 instead of 2.
    """

    def forward(self, a):
        return 2 * a

    def backward(self, grad):
        factor = np.array([[3.0, 2.5, 2.1], [2.0, 2.0, 2.0]])
        return grad * factor


class IdentityWithSmallErrors(Function):
    """y = x, but backward adds 0.9e-5 * sum(grad) to every element: each Jacobian entry is off
    by 0.9e-5 (within atol=1e-5), while w @ J is off by 0.9e-5 * sum(w), beyond it."""

    def forward(self, a):
        return a.copy()

    def backward(self, grad):
        return grad + 0.9e-5 * grad.sum()


REPORT = re.compile(
    r"analytic (?P<analytic>[-\d.e+]+), numeric (?P<numeric>[-\d.e+]+) "
    r"\(abs error (?P<abs>[-\d.e+]+), rel error (?P<rel>[-\d.e+inf]+); allowed "
    r"atol \+ rtol \* \|numeric\| = (?P<allowed>[-\d.e+]+) with atol=(?P<atol>[-\d.e+]+), "
    r"rtol=(?P<rtol>[-\d.e+]+)\)"
)


def _report(msg: str) -> dict[str, float]:
    match = REPORT.search(msg)
    assert match, msg
    return {k: float(v) for k, v in match.groupdict().items()}


@pytest.mark.nojit
@pytest.mark.parametrize("fast_mode", [True, False])
def test_gradcheck_reports_true_jacobian_entries_counts_and_tolerance(fast_mode):
    x = leaf(np.linspace(-1, 1, 6).reshape(2, 3))
    with pytest.raises(GradcheckError) as exc_info:
        gradcheck(ScaleWithWrongFirstRow.apply, x, fast_mode=fast_mode)
    msg = _message(exc_info)
    assert "input 0 (shape (2, 3)): 3 of 36 Jacobian entries differ" in msg
    assert "element (0, 0) of input 0 and element (0, 0) of the output" in msg
    r = _report(msg)
    # true Jacobian entries, not projections onto a random direction: d y[0,0] / d x[0,0]
    assert r["analytic"] == 3.0
    assert r["numeric"] == pytest.approx(2.0, rel=1e-8)
    assert r["abs"] == pytest.approx(1.0, rel=1e-2) and r["rel"] == pytest.approx(0.5, rel=1e-2)
    assert r["allowed"] == pytest.approx(1e-5 + 1e-4 * 2.0, rel=1e-2)
    assert (r["atol"], r["rtol"]) == (1e-5, 1e-4)
    if fast_mode:
        assert "fast mode" in msg and "fast_mode=False" in msg
    else:
        assert "full Jacobian" in msg and "fast mode" not in msg


@pytest.mark.nojit
def test_gradcheck_reports_every_failing_input_not_just_the_first():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 5.0])
    with pytest.raises(GradcheckError) as exc_info:
        gradcheck(
            lambda s, t: SquareWrongGrad.apply(s).sum() + SquareWrongGrad.apply(t).sum(), a, b
        )
    lines = _message(exc_info).splitlines()
    assert [line.split(" (")[0] for line in lines[1:]] == ["input 0", "input 1"]
    assert lines[2].startswith("input 1 (shape (2,)): 2 of 2 Jacobian entries differ")


@pytest.mark.nojit
def test_gradcheck_fast_mode_false_checks_every_jacobian_entry():
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(GradcheckError) as exc_info:
        gradcheck(ReverseForgetsToReverse.apply, x, fast_mode=False)
    msg = _message(exc_info)
    # backward gives the identity where the Jacobian is the reversal: 4 of the 9 entries differ
    assert "full Jacobian" in msg and "4 of 9 Jacobian entries differ" in msg
    assert gradcheck(lambda t: t[::-1] * t, x, fast_mode=False)


@pytest.mark.nojit
def test_gradcheck_one_element_output_says_its_gradient_is_the_whole_jacobian():
    with pytest.raises(GradcheckError, match="the output has one element"):
        gradcheck(lambda t: SquareWrongGrad.apply(t).sum(), leaf([0.5, 2.0]))


@pytest.mark.nojit
def test_gradcheck_fast_mode_failure_with_every_entry_within_tolerance_says_so():
    x = leaf(np.linspace(-1, 1, 40))
    # entry by entry the errors are within tolerance, so the full check passes ...
    assert gradcheck(IdentityWithSmallErrors.apply, x, rtol=0, fast_mode=False)
    # ... but they add up in w @ J (sum(w) is -2.4 for seed 0): the message must not claim
    # that some entry is wrong
    with pytest.raises(GradcheckError) as exc_info:
        gradcheck(IdentityWithSmallErrors.apply, x, rtol=0)
    msg = _message(exc_info)
    assert "projected gradient w @ J differs" in msg
    assert "no single Jacobian entry is outside the tolerance" in msg and "fast_mode=False" in msg


@pytest.mark.nojit
def test_gradcheck_reports_nan_against_a_number():
    class NanGrad(Function):
        def forward(self, a):
            return a * 1.0

        def backward(self, grad):
            g = grad.copy()
            g[1] = np.nan
            return g

    with pytest.raises(GradcheckError) as exc_info:
        gradcheck(lambda t: NanGrad.apply(t).sum(), leaf([1.0, 2.0, 3.0]))
    msg = _message(exc_info)
    assert "1 of 3 Jacobian entries differ" in msg and "element (1,)" in msg
    assert "analytic nan, numeric 1.0" in msg


def test_gradcheck_failure_traceback_hides_gradchecks_own_frames():
    """``__tracebackhide__``: pytest shows the test line and the message, not gradcheck's body."""
    x = leaf([0.5, -1.5])
    with pytest.raises(GradcheckError) as exc_info:
        gradcheck(lambda t: SquareWrongGrad.apply(t).sum(), x)
    shown = exc_info.traceback.filter(exc_info)
    assert shown, "no frames left at all"
    assert not [e for e in shown if Path(str(e.path)).name == "gradcheck.py"]
    assert Path(str(shown[-1].path)).name == "test_testing_tools.py"


@pytest.mark.nojit
def test_gradcheck_restores_the_inputs_grad():
    x = leaf([0.3, -0.7])
    x.grad = np.array([10.0, 20.0])
    assert gradcheck(lambda t: (t * t).sum(), x)
    np.testing.assert_array_equal(x.grad, [10.0, 20.0])  # not replaced by gradcheck's backward
    with pytest.raises(GradcheckError):
        gradcheck(lambda t: SquareWrongGrad.apply(t).sum(), x)
    np.testing.assert_array_equal(x.grad, [10.0, 20.0])


def test_gradcheck_refuses_a_full_jacobian_too_large_to_hold(monkeypatch):
    # (the module, not the function of the same name that minigrad.testing exports)
    module = importlib.import_module("minigrad.testing.gradcheck")
    monkeypatch.setattr(module, "MAX_JACOBIAN_ENTRIES", 10)
    x = leaf(np.ones((2, 3)))
    with pytest.raises(ValueError, match="fast_mode=True"):
        gradcheck(lambda t: t * 2, x, fast_mode=False)
    assert gradcheck(lambda t: t * 2, x)  # fast mode keeps only w @ J
    with pytest.raises(GradcheckError, match="too large to build"):
        gradcheck(ScaleWithWrongFirstRow.apply, x)


# ----------------------------------------------------------------- strategies
@given(s=shapes())
def test_shapes_default_bounds(s):
    assert 0 <= len(s) <= 3 and all(1 <= n <= 4 for n in s)


@given(s=shapes(min_dims=2, max_dims=4, min_side=2, max_side=3))
def test_shapes_custom_bounds(s):
    assert 2 <= len(s) <= 4 and all(2 <= n <= 3 for n in s)


@given(num=st.integers(1, 4), data=st.data())
def test_broadcastable_shapes_broadcast(num, data):
    result = data.draw(broadcastable_shapes(num_shapes=num, max_dims=3, max_side=4))
    assert len(result) == num
    np.broadcast_shapes(*result)  # raises if they do not broadcast
    assert all(len(s) <= 3 and all(n <= 4 for n in s) for s in result)


def test_broadcastable_shapes_produce_real_broadcasting():
    # some pairs differ (size-1 or missing dims): otherwise unbroadcast would never be tested
    find(broadcastable_shapes(), lambda s: len(s[0]) != len(s[1]))
    find(broadcastable_shapes(), lambda s: any(1 == a != b for a, b in zip(s[0][::-1], s[1][::-1])))


@given(pair=matmul_shapes())
def test_matmul_shapes_are_valid_for_matmul(pair):
    a, b = pair
    np.matmul(np.zeros(a), np.zeros(b))


@pytest.mark.parametrize(
    "wanted",
    [
        lambda a, b: len(a) == 1 and len(b) == 1,
        lambda a, b: len(a) == 2 and len(b) == 2,
        lambda a, b: len(a) == 1 and len(b) >= 3,
        lambda a, b: len(a) >= 3 and len(b) == 1,
        lambda a, b: len(a) >= 3 and len(b) >= 3 and a[:-2] != b[:-2],  # broadcast batches
    ],
)
def test_matmul_shapes_cover_vectors_matrices_and_batches(wanted):
    find(matmul_shapes(), lambda p: wanted(*p), settings=settings(max_examples=2000))


@given(x=tensors())
def test_tensors_defaults(x):
    assert x.dtype == np.float64 and x.requires_grad and x.is_leaf
    assert np.all(np.abs(x.data) >= 0.1) and np.all(np.abs(x.data) <= 3.0)  # away from kinks


@given(x=tensors(shape=(2, 3), dtype=np.float32))
def test_tensors_shape_and_dtype(x):
    assert x.shape == (2, 3) and x.dtype == np.float32 and x.requires_grad


@given(x=tensors(shape=shapes(max_dims=2), dtype=np.int64))
def test_integer_tensors_do_not_require_grad(x):
    assert x.dtype == np.int64 and not x.requires_grad


@given(x=tensors(unique=True))
def test_unique_tensors(x):
    assert len(np.unique(x.data)) == x.data.size


@given(x=tensors(shape=shapes(), contiguous=False))
def test_non_contiguous_tensors(x):
    # a non-contiguous layout is possible for any array with more than one element
    if x.data.size > 1:
        assert not x.data.flags.c_contiguous


@given(x=tensors(contiguous=True))
def test_contiguous_tensors(x):
    assert x.data.flags.c_contiguous


def test_default_tensors_are_sometimes_non_contiguous():
    # any non-contiguous example will do: no shrinking (it took 8 s to shrink twelve floats)
    find(
        tensors(shape=(3, 4)),
        lambda t: not t.data.flags.c_contiguous,
        settings=settings(suppress_health_check=list(HealthCheck), phases=[Phase.generate]),
    )


@given(x=tensors(elements=st.floats(-1, 1)))
def test_custom_elements(x):
    assert np.all(np.abs(x.data) <= 1)


@given(v=safe_floats(), p=safe_floats(min_magnitude=0.5, max_magnitude=2.0, positive=True))
def test_safe_floats(v, p):
    assert 0.1 <= abs(v) <= 3.0 and math.isfinite(v)
    assert 0.5 <= p <= 2.0


def test_safe_floats_produce_both_signs():
    find(safe_floats(), lambda v: v < 0)
    find(safe_floats(), lambda v: v > 0)


@given(x=tensors(unique=True))
def test_unique_tensors_are_far_apart_for_finite_differences(x):
    # distinct is not enough: 0.1 and 0.1 + 1e-9 are distinct, but a central difference with
    # eps = 1e-6 straddles the tie between them (found in amax's gradcheck)
    values = np.sort(x.data.ravel())
    assert np.all(np.diff(values) >= 0.01 - 1e-12)
