# Write a new op and test it the way minigrad tests its own.  (tests/test_readme_own_op.py is
# this README example, verbatim; the test suite runs it.)
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import Function, nn
from minigrad.testing import assert_matches_torch, gradcheck, gradgradcheck, ids, targets, tensors


class Softplus(Function):
    """softplus(x) = log(1 + e^x), a smooth relu."""

    def forward(self, x):  # numpy in, numpy out; keep on self what backward needs
        self.x = x
        return np.logaddexp(0.0, x)  # log(e^0 + e^x), without overflow

    def backward(self, grad):  # d loss/d x = grad * d softplus/dx, one gradient per input
        # d softplus / dx = e^x / (1 + e^x) = sigmoid(x)
        return grad / (1.0 + np.exp(-self.x))

    def backward_graph(self, grad):  # optional: the same formula in Tensor ops, recorded by
        # backward(create_graph=True) so that it can be differentiated again
        return grad * self.inputs[0].sigmoid()  # self.inputs[0]: the input x, as a Tensor


def softplus(x):
    return Softplus.apply(x)


# 1. Backward agrees with finite differences, for any shape and values (float64 tensors),
#    and so does the double backward (the second derivative, sigmoid(x) (1 - sigmoid(x))).
@given(tensors(elements=st.floats(-30, 30)))
def test_softplus_gradcheck(x):
    assert gradcheck(softplus, x)
    assert gradgradcheck(softplus, x)


# 2. Forward and backward agree with PyTorch's log(1 + e^x) (skipped without PyTorch).
@given(tensors(elements=st.floats(-30, 30)))
def test_softplus_matches_torch(x):
    assert_matches_torch(softplus, lambda t: t.exp().log1p(), x)


# 3. Inside a tiny language model: Zipf-distributed token ids, targets with ignored rows.
@given(
    ids(vocab_size=50, shape=(2, 6), distribution="zipf"),
    targets(n_classes=50, shape=(12,), ignore_index=-100),
)
def test_softplus_in_a_language_model(token_ids, target):
    emb, head = nn.Embedding(50, 8, sparse=True), nn.Linear(8, 50)
    loss = F.cross_entropy(head(softplus(emb(token_ids))).reshape(12, 50), target)
    loss.backward()
    if (target == -100).all():  # no row counts, so the mean is 0 / 0
        assert np.isnan(loss.item())
    else:
        assert np.isfinite(loss.item())
    # only the rows of ids that occurred get a gradient
    assert set(emb.weight.grad.indices.tolist()) <= set(token_ids.ravel().tolist())


# 4. Its second derivative at work: d2/dx2 softplus(x) = sigmoid(x) (1 - sigmoid(x)).
def test_softplus_second_derivative():
    x = mg.tensor([-1.0, 0.0, 2.0], dtype="float64", requires_grad=True)
    (slope,) = mg.grad(softplus(x).sum(), x, create_graph=True)
    (curvature,) = mg.grad(slope.sum(), x)
    s = 1 / (1 + np.exp(-x.data))
    np.testing.assert_allclose(curvature.data, s * (1 - s), rtol=1e-12)
