"""LayerNorm, Dropout, activations and containers: gradients, torch parity, modes, names."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.nn.activation import GELU, ReLU, Tanh
from minigrad.nn.container import ModuleList, Sequential
from minigrad.nn.dropout import Dropout
from minigrad.nn.functional import dropout, gelu, layer_norm
from minigrad.nn.layers import Linear
from minigrad.nn.normalization import LayerNorm
from minigrad.tensor import Tensor
from minigrad.testing import gradcheck, gradgradcheck, tensors


def _param(shape, rng):
    return Tensor(rng.uniform(0.5, 1.5, size=shape), requires_grad=True)


# ----------------------------------------------------------------------------- LayerNorm
@settings(max_examples=25)
@given(
    lead=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    norm=st.lists(st.integers(2, 4), min_size=1, max_size=2),
    affine=st.sampled_from(["both", "weight", "none"]),
    seed=st.integers(0, 2**16),
)
def test_layer_norm_gradcheck(lead, norm, affine, seed):
    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal((*lead, *norm)), requires_grad=True)
    w = _param(norm, rng) if affine != "none" else None
    b = _param(norm, rng) if affine == "both" else None
    args = [t for t in (x, w, b) if t is not None]

    def fn(*ts):
        it = iter(ts[1:])
        ww = next(it) if w is not None else None
        bb = next(it) if b is not None else None
        return layer_norm(ts[0], tuple(norm), ww, bb, eps=1e-5)

    assert gradcheck(fn, *args, atol=1e-6, rtol=1e-5)
    assert gradgradcheck(fn, *args, atol=1e-6, rtol=1e-5)


@given(tensors(shape=st.tuples(st.integers(1, 3), st.integers(2, 5)), unique=True))
def test_layer_norm_rows_are_standardised(x):
    y = layer_norm(x, (x.shape[-1],), eps=1e-12).data
    np.testing.assert_allclose(y.mean(axis=-1), 0, atol=1e-9)
    np.testing.assert_allclose(y.var(axis=-1), 1, rtol=1e-6)


def test_layer_norm_matches_torch_forward_and_backward():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5))
    ln = LayerNorm((4, 5), dtype=np.float64)
    ln.weight.data[:] = rng.standard_normal((4, 5))
    ln.bias.data[:] = rng.standard_normal((4, 5))
    tln = torch.nn.LayerNorm((4, 5), dtype=torch.float64)
    tln.load_state_dict({k: torch.from_numpy(v) for k, v in ln.state_dict().items()})
    g = rng.standard_normal(x.shape)
    xm, xt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ym, yt = ln(xm), tln(xt)
    np.testing.assert_allclose(ym.data, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    ym.backward(g)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(xm.grad, xt.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(ln.weight.grad, tln.weight.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(ln.bias.grad, tln.bias.grad.numpy(), atol=1e-10)


def test_layer_norm_errors_and_defaults():
    ln = LayerNorm(4)
    assert ln.weight.dtype == np.float32 and (ln.weight.data == 1).all()
    assert list(ln.state_dict()) == ["weight", "bias"]
    assert list(LayerNorm(4, elementwise_affine=False).state_dict()) == []
    with pytest.raises(ValueError, match=r"normalized_shape \(4,\)"):
        ln(Tensor(np.zeros((2, 3), np.float32)))
    with pytest.raises(ValueError, match="positive sizes"):
        LayerNorm(0)
    with pytest.raises(ValueError, match="eps"):
        LayerNorm(3, eps=0)


# ----------------------------------------------------------------------------- Dropout
def test_dropout_train_eval_and_seeding():
    x = Tensor(np.ones((200, 50), np.float32), requires_grad=True)
    d = Dropout(0.3)
    mg.manual_seed(5)
    y1 = d(x)
    mg.manual_seed(5)
    y2 = d(x)
    np.testing.assert_array_equal(y1.data, y2.data)  # seeded: reproducible
    kept = y1.data != 0
    assert 0.65 < kept.mean() < 0.75
    np.testing.assert_allclose(y1.data[kept], 1 / 0.7, rtol=1e-6)  # survivors scaled by 1/(1-p)
    y1.backward(np.full(x.shape, 2.0, np.float32))
    np.testing.assert_allclose(x.grad, 2 * y1.data)  # the same mask, scaled the same
    assert d.eval()(x) is x  # eval: identity
    assert dropout(x, 0.0) is x
    np.testing.assert_array_equal(dropout(x, 1.0).data, 0)


def test_dropout_gradcheck_with_fixed_mask():
    x = Tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    assert gradcheck(lambda t: (mg.manual_seed(1), dropout(t, 0.5))[1], x)
    assert gradgradcheck(lambda t: (mg.manual_seed(1), dropout(t * t, 0.5))[1], x)


def test_dropout_rejects_bad_p():
    with pytest.raises(ValueError, match=r"\[0, 1\], got 1.5"):
        Dropout(1.5)


# ----------------------------------------------------------------------------- activations
@given(tensors(shape=st.tuples(st.integers(1, 3), st.integers(1, 4))))
def test_activations_gradcheck(x):
    for m in (GELU(), GELU("tanh"), ReLU(), Tanh()):
        assert gradcheck(m, x)
        assert gradgradcheck(m, x)


def test_activations_match_torch():
    torch = pytest.importorskip("torch")
    x = np.linspace(-4, 4, 41)
    tx = torch.from_numpy(x)
    pairs = [
        (GELU(), torch.nn.GELU()),
        (GELU("tanh"), torch.nn.GELU(approximate="tanh")),
        (ReLU(), torch.nn.ReLU()),
        (Tanh(), torch.nn.Tanh()),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours(Tensor(x)).data, theirs(tx).numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="'exact'"):
        GELU("exact")
    with pytest.raises(ValueError, match="'fast'"):
        gelu(Tensor(x), "fast")


# ----------------------------------------------------------------------------- containers
def test_sequential_names_and_order_match_torch():
    torch = pytest.importorskip("torch")
    mg.manual_seed(0)
    seq = Sequential(Linear(3, 5), GELU(), Linear(5, 2), Dropout(0.0))
    tseq = torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.GELU(), torch.nn.Linear(5, 2), torch.nn.Dropout(0.0)
    )
    assert list(seq.state_dict()) == list(tseq.state_dict())
    tseq.load_state_dict({k: torch.from_numpy(v) for k, v in seq.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(
        seq(Tensor(x)).data, tseq(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )
    assert len(seq) == 4 and isinstance(seq[-1], Dropout) and isinstance(seq[1:3], Sequential)


def test_module_list_registers_and_checks():
    ml = ModuleList([Linear(2, 2)])
    ml.append(Linear(2, 3))
    assert [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert len(list(ml.parameters())) == 4 and ml[1].out_features == 3
    ml[0] = Linear(2, 4)
    assert ml[0].out_features == 4
    with pytest.raises(IndexError, match="index 2 is out of range"):
        ml[2]
    with pytest.raises(TypeError, match="got int"):
        ml.append(3)
    with pytest.raises(NotImplementedError):
        ml(1)
