# Test a new op the way minigrad tests its own.  (tests/test_readme_own_op.py is this README
# example, verbatim; the test suite runs it.)
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import minigrad.nn.functional as F
from minigrad import nn
from minigrad.autograd import Function
from minigrad.testing import assert_matches_torch, gradcheck, ids, targets, tensors


class Softplus(Function):
    """softplus(x) = log(1 + e^x), a smooth relu."""

    def forward(self, x):
        self.x = x
        return np.logaddexp(0.0, x)  # log(e^0 + e^x), without overflow

    def backward(self, grad):
        # d softplus / dx = e^x / (1 + e^x) = sigmoid(x)
        return grad / (1.0 + np.exp(-self.x))


def softplus(x):
    return Softplus.apply(x)


# 1. Backward agrees with finite differences, for any shape and values (float64 tensors).
@given(tensors(elements=st.floats(-30, 30)))
def test_softplus_gradcheck(x):
    assert gradcheck(softplus, x)


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
