"""SGD / Adam / AdamW: PyTorch's formulas for dense gradients, row-only updates for sparse ones."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.sparse import RowSparseGrad

V, D = 9, 3


def _grads(steps, seed=0, shape=(V, D)):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(steps)]


def _run_dense(ours, theirs, kw, steps=5):
    """Same start, same gradients (float64), several steps: minigrad vs torch.optim."""
    torch = pytest.importorskip("torch")
    w0 = np.random.default_rng(42).standard_normal((V, D))
    p = nn.Parameter(w0.copy())
    tp = torch.nn.Parameter(torch.tensor(w0.copy()))
    opt, topt = ours([p], **kw), theirs([tp], **kw)
    for g in _grads(steps):
        p.grad, tp.grad = g.copy(), torch.tensor(g)
        opt.step()
        topt.step()
    np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-13, atol=1e-13)
    return opt


@pytest.mark.torch
@pytest.mark.parametrize(
    "kw",
    [
        {"lr": 0.1},
        {"lr": 0.1, "momentum": 0.9},
        {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01},
        {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
    ],
)
def test_sgd_matches_torch(kw):
    torch = pytest.importorskip("torch")
    _run_dense(optim.SGD, torch.optim.SGD, kw)


@pytest.mark.torch
@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("Adam", {"lr": 0.01}),
        ("Adam", {"lr": 0.1, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05}),
        ("AdamW", {"lr": 0.1}),
        ("AdamW", {"lr": 0.1, "betas": (0.5, 0.9), "weight_decay": 0.2}),
    ],
)
def test_adam_matches_torch(name, kw):
    torch = pytest.importorskip("torch")
    _run_dense(getattr(optim, name), getattr(torch.optim, name), kw)


def _sparse(rows, seed):
    rows = np.asarray(rows, np.int64)
    vals = np.random.default_rng(seed).standard_normal((len(rows), D))
    return RowSparseGrad(rows, vals, (V, D))


@pytest.mark.torch
def test_sparse_adam_matches_torch_sparse_adam():
    torch = pytest.importorskip("torch")
    w0 = np.random.default_rng(1).standard_normal((V, D))
    p = nn.Parameter(w0.copy())
    tp = torch.nn.Parameter(torch.tensor(w0.copy()))
    opt = optim.Adam([p], lr=0.1, betas=(0.8, 0.95))
    topt = torch.optim.SparseAdam([tp], lr=0.1, betas=(0.8, 0.95))
    for k, rows in enumerate([[0, 3], [3, 8], [1], [0, 1, 2, 3]]):
        g = _sparse(rows, k)
        p.grad = g
        tp.grad = torch.sparse_coo_tensor(
            torch.tensor(g.indices)[None], torch.tensor(g.values), (V, D), check_invariants=True
        )
        opt.step()
        topt.step()
    np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-13, atol=1e-13)
    never = [4, 5, 6, 7]
    np.testing.assert_array_equal(p.data[never], w0[never])
    assert not opt.state[p]["exp_avg"][never].any()


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sparse_sgd_touches_only_given_rows(momentum):
    w0 = np.random.default_rng(2).standard_normal((V, D))
    p = nn.Parameter(w0.copy())
    opt = optim.SGD([p], lr=0.1, momentum=momentum)
    g1, g2 = _sparse([1, 5], 0), _sparse([5, 7], 1)
    p.grad = g1
    opt.step()
    p.grad = g2
    opt.step()
    untouched = [0, 2, 3, 4, 6, 8]
    assert p.data[untouched].tobytes() == w0[untouched].tobytes()
    # row 1 appears only in step 1: with sparse momentum it does not keep moving in step 2
    np.testing.assert_allclose(p.data[1], w0[1] - 0.1 * g1.values[0])
    buf5 = g1.values[1]
    expect5 = w0[5] - 0.1 * g1.values[1]
    buf5 = momentum * buf5 + g2.values[0] if momentum else g2.values[0]
    np.testing.assert_allclose(p.data[5], expect5 - 0.1 * buf5)


def test_sparse_sgd_without_momentum_equals_dense_bit_for_bit():
    w0 = np.random.default_rng(3).standard_normal((V, D)).astype(np.float32)
    a, b = nn.Parameter(w0.copy()), nn.Parameter(w0.copy())
    oa, ob = optim.SGD([a], lr=0.3), optim.SGD([b], lr=0.3)
    g = RowSparseGrad(np.array([2, 4]), np.ones((2, D), np.float32), (V, D))
    a.grad, b.grad = g, g.to_dense()
    oa.step()
    ob.step()
    assert a.data.tobytes() == b.data.tobytes()


def test_adam_weight_decay_on_sparse_rows_only_touches_those_rows():
    for cls in (optim.Adam, optim.AdamW):
        w0 = np.ones((V, D))
        p = nn.Parameter(w0.copy())
        opt = cls([p], lr=0.1, weight_decay=0.5)
        p.grad = _sparse([0], 0)
        opt.step()
        np.testing.assert_array_equal(p.data[1:], 1.0)
        assert not np.allclose(p.data[0], 1.0)


def test_training_with_embedding_sparse_end_to_end():
    mg.manual_seed(0)
    emb = nn.Embedding(50, 4, sparse=True)
    head = nn.Linear(4, 50)
    opt = optim.Adam([*emb.parameters(), *head.parameters()], lr=0.05)
    ids = np.array([3, 7, 7, 11])
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(head(emb(ids)), np.array([7, 3, 3, 1]))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_step_bumps_version_so_stale_graphs_refuse_backward():
    p = nn.Parameter(np.ones(3))
    y = (p * p).sum()
    p.grad = np.ones(3)
    optim.SGD([p], lr=0.1).step()
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_zero_grad_and_param_groups():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.SGD([{"params": [a], "lr": 1.0}, {"params": [b]}], lr=0.1)
    a.grad, b.grad = np.ones(2), np.ones(2)
    opt.step()
    np.testing.assert_allclose(a.data, 0.0)
    np.testing.assert_allclose(b.data, 0.9)
    opt.zero_grad(set_to_none=False)
    assert a.grad is not None and not a.grad.any()
    opt.zero_grad()
    assert a.grad is None and b.grad is None
    opt.step()  # no gradients: nothing happens
    np.testing.assert_allclose(b.data, 0.9)


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam])
def test_state_dict_round_trip_resumes_exactly(cls):
    kw = {"lr": 0.1, "momentum": 0.9} if cls is optim.SGD else {"lr": 0.1}
    grads = _grads(4, seed=5)
    w0 = np.zeros((V, D))
    p = nn.Parameter(w0.copy())
    opt = cls([p], **kw)
    for g in grads:
        p.grad = g
        opt.step()

    q = nn.Parameter(w0.copy())
    first = cls([q], **kw)
    for g in grads[:2]:
        q.grad = g
        first.step()
    sd = first.state_dict()
    assert sd["param_groups"][0]["params"] == [0] and 0 in sd["state"]
    resumed = cls([q], lr=123.0, **({"momentum": 0.9} if cls is optim.SGD else {}))
    resumed.load_state_dict(sd)
    assert resumed.param_groups[0]["lr"] == 0.1
    for g in grads[2:]:
        q.grad = g
        resumed.step()
    np.testing.assert_array_equal(p.data, q.data)

    with pytest.raises(ValueError, match="param groups"):
        resumed.load_state_dict({"state": {}, "param_groups": []})


def test_bad_hyper_parameters_raise():
    p = nn.Parameter(np.ones(2))
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="lr"):
        optim.SGD([p], lr=-1.0)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([p], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="empty"):
        optim.Adam([])
    with pytest.raises(ValueError, match="unknown option"):
        optim.SGD([{"params": [p], "lrr": 0.1}], lr=0.1)
    with pytest.raises(ValueError, match="does not require grad"):
        optim.SGD([mg.tensor([1.0])], lr=0.1)
    assert "lr: 0.1" in repr(optim.SGD([p], lr=0.1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("cls", "wd"), [(optim.Adam, 0.0), (optim.Adam, 0.1), (optim.AdamW, 0.1)])
def test_lazy_adam_kernel_matches_numpy_reference(dtype, cls, wd):
    """The fused row kernel (C-contiguous parameter) == the numpy path (non-contiguous one)."""
    w0 = np.random.default_rng(4).standard_normal((V, D)).astype(dtype)
    fast = nn.Parameter(w0.copy())
    slow = nn.Parameter(np.asfortranarray(w0))  # not C-contiguous: takes the numpy path
    of, os_ = cls([fast], lr=0.1, weight_decay=wd), cls([slow], lr=0.1, weight_decay=wd)
    for k, rows in enumerate([[0, 3], [3, 8], [2]]):
        g = _sparse(rows, k)
        g = RowSparseGrad(g.indices, g.values.astype(dtype), (V, D))
        fast.grad = slow.grad = g
        of.step()
        os_.step()
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(fast.data, slow.data, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(
        of.state[fast]["exp_avg_sq"], os_.state[slow]["exp_avg_sq"], rtol=rtol
    )


def test_sparse_grad_with_bad_rows_is_rejected_before_any_write():
    p = nn.Parameter(np.zeros((V, D)))
    opt = optim.Adam([p])
    p.grad = RowSparseGrad(np.array([2, V]), np.ones((2, D)), (V, D))
    with pytest.raises(IndexError, match=str(V)):
        opt.step()
    assert not p.data.any()


@pytest.mark.parametrize("bad", [-1, V])
def test_bad_rows_are_rejected_on_the_numpy_path_too(bad):
    """A parameter the kernel is not compiled for (not C-contiguous) takes the numpy update,
    which checks rows by the same rule: -1 would otherwise update the last row."""
    p = nn.Parameter(np.asfortranarray(np.zeros((V, D))))
    opt = optim.Adam([p])
    p.grad = RowSparseGrad(np.array([2, bad]), np.ones((2, D)), (V, D))
    with pytest.raises(IndexError, match=rf"row {bad} is out of range for a parameter of {V}"):
        opt.step()
    assert not p.data.any()


def test_fused_axpy_rounds_like_numpy():
    from minigrad.kernels import axpy_

    rng = np.random.default_rng(6)
    p = rng.standard_normal((50, 7)).astype(np.float32)
    g = rng.standard_normal((50, 7)).astype(np.float32)
    expect = p - np.float32(0.3) * g
    y = p.copy()
    axpy_(y, -0.3, g)
    assert y.tobytes() == expect.tobytes()
    z = np.asfortranarray(p)  # numpy fallback path
    axpy_(z, -0.3, g.astype(np.float64))
    np.testing.assert_allclose(z, expect, rtol=1e-6, atol=1e-6)
