"""TinyGPT against a plain torch.nn reference: logits, loss, every gradient, AdamW steps, both ways.

The strongest differential test of the whole autograd: embedding gather/scatter, LayerNorm,
fused attention, GELU, Linear, residual adds, the fused linear + cross-entropy and AdamW all
have to agree with PyTorch at once.
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad.models.tinygpt import TinyGPT, TinyGPTConfig
from minigrad.optim import AdamW
from minigrad.sparse import RowSparseGrad

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # tiny models: threads only add contention on a shared machine
from benchmarks.torch_tinygpt import TorchTinyGPT, to_numpy_state, to_torch_state  # noqa: E402

V, CTX, D, H, L = 37, 8, 16, 4, 2


def make_pair(tie=False, sparse=False, dtype=np.float32, seed=0):
    mg.manual_seed(seed)
    ours = TinyGPT(V, CTX, D, H, L, tie_weights=tie, sparse_embeddings=sparse)
    if dtype != np.float32:
        for p in ours.parameters():
            p.data = p.data.astype(dtype)
    theirs = TorchTinyGPT(V, CTX, D, H, L, tie_weights=tie)
    if dtype == np.float64:
        theirs = theirs.double()
    theirs.load_state_dict(to_torch_state(ours.state_dict()))
    return ours, theirs


def batch(seed=0, b=3, t=CTX):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, V, (b, t))
    targets = rng.integers(0, V, (b, t))
    targets[0, :2] = -100  # ignored positions, as padding would be
    return ids, targets


def rel_err(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.mark.parametrize("tie", [False, True])
def test_state_dict_keys_and_shapes_match_torch(tie):
    ours, theirs = make_pair(tie=tie)
    ts = theirs.state_dict()
    assert list(ours.state_dict()) == list(ts)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in ts.items()
    }
    assert (ours.head.weight is ours.tok_emb.weight) == tie


def test_logits_match_torch_float32():
    ours, theirs = make_pair()
    ids, _ = batch()
    got = ours(ids).data
    want = theirs(torch.from_numpy(ids)).detach().numpy()
    assert got.dtype == np.float32
    assert rel_err(got, want) < 1e-5
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize(("tie", "sparse"), [(False, False), (True, False), (True, True)])
def test_loss_and_every_gradient_match_torch_float64(tie, sparse):
    ours, theirs = make_pair(tie=tie, sparse=sparse, dtype=np.float64)
    ids, targets = batch(1)
    loss = ours.loss(ids, targets)
    loss.backward()
    tloss = theirs.loss(torch.from_numpy(ids), torch.from_numpy(targets))
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-12)
    tgrads = {n: p.grad.numpy() for n, p in theirs.named_parameters()}
    names = [n for n, _ in ours.named_parameters()]
    assert names == list(tgrads)  # a tied weight is listed once, in both
    for name, p in ours.named_parameters():
        g = p.grad
        if tie and name == "tok_emb.weight":
            # lookup rows (row-sparse if sparse=True) + head (dense): the engine adds them
            assert isinstance(g, np.ndarray)
        np.testing.assert_allclose(g, tgrads[name], rtol=1e-9, atol=1e-12, err_msg=name)


def test_untied_sparse_embedding_gradient_is_row_sparse_and_correct():
    ours, theirs = make_pair(sparse=True, dtype=np.float64)
    ids, targets = batch(2)
    ours.loss(ids, targets).backward()
    theirs.loss(torch.from_numpy(ids), torch.from_numpy(targets)).backward()
    g = ours.tok_emb.weight.grad
    assert isinstance(g, RowSparseGrad)
    np.testing.assert_array_equal(g.indices, np.unique(ids))
    np.testing.assert_allclose(g.to_dense(), theirs.tok_emb.weight.grad.numpy(), atol=1e-12)


def test_adamw_training_matches_torch_step_by_step():
    ours, theirs = make_pair(tie=True, dtype=np.float64)
    opt = AdamW(ours.parameters(), lr=1e-2, weight_decay=0.1)
    topt = torch.optim.AdamW(theirs.parameters(), lr=1e-2, weight_decay=0.1)
    for step in range(3):
        ids, targets = batch(10 + step)
        ours_loss = ours.train_step(opt, ids, targets)
        topt.zero_grad()
        tl = theirs.loss(torch.from_numpy(ids), torch.from_numpy(targets))
        tl.backward()
        topt.step()
        np.testing.assert_allclose(ours_loss, tl.item(), rtol=1e-9)
    for k, v in to_numpy_state(theirs).items():
        np.testing.assert_allclose(ours.state_dict()[k], v, rtol=1e-8, atol=1e-10, err_msg=k)


def test_torch_weights_into_minigrad():
    torch.manual_seed(0)
    theirs = TorchTinyGPT(V, CTX, D, H, L, tie_weights=True)
    ours = TinyGPT(V, CTX, D, H, L, tie_weights=True)
    ours.load_state_dict(to_numpy_state(theirs))
    ids, targets = batch(3)
    want = theirs(torch.from_numpy(ids)).detach().numpy()
    assert rel_err(ours(ids).data, want) < 1e-5
    tl = theirs.loss(torch.from_numpy(ids), torch.from_numpy(targets)).item()
    np.testing.assert_allclose(ours.loss(ids, targets).item(), tl, rtol=1e-5)


def test_generate():
    ours, _ = make_pair()
    prompt = np.array([1, 2, 3])
    a = ours.generate(prompt, 5, seed=7)
    assert a.shape == (8,) and a.dtype == np.int64 and (a[:3] == prompt).all()
    np.testing.assert_array_equal(a, ours.generate(prompt, 5, seed=7))  # seeded: reproducible
    greedy = ours.generate(prompt, 4, temperature=0)
    np.testing.assert_array_equal(greedy, ours.generate(prompt, 4, top_k=1, seed=3))
    ids = prompt[None]
    for _ in range(4):  # greedy = argmax of the last position's logits, step by step
        nxt = ours(ids[:, -CTX:]).data[:, -1].argmax(-1)
        ids = np.concatenate([ids, nxt[:, None]], 1)
    np.testing.assert_array_equal(greedy, ids[0])
    long = ours.generate(np.arange(20) % V, 3, seed=0)  # longer than the context: cropped
    assert long.shape == (23,)
    two = ours.generate(np.zeros((2, 1), np.int64), 3, top_k=5, seed=1)
    assert two.shape == (2, 4)
    assert ours.training  # mode restored
    with pytest.raises(ValueError, match="temperature must be >= 0, got -1"):
        ours.generate(prompt, 1, temperature=-1)
    with pytest.raises(ValueError, match="top_k must be >= 1"):
        ours.generate(prompt, 1, top_k=0)
    with pytest.raises(ValueError, match=r"shape \(T,\) or \(B, T\)"):
        ours.generate(np.array([0.5]), 1)


def test_input_checks_and_config():
    ours, _ = make_pair()
    with pytest.raises(
        ValueError, match=r"sequence length 9 must be within 1..context_length \(8\)"
    ):
        ours(np.zeros((1, 9), np.int64))
    with pytest.raises(ValueError, match=r"shape \(B, T\), got \(4,\)"):
        ours(np.zeros(4, np.int64))
    with pytest.raises(IndexError, match="embedding id 37 is out of range"):
        ours(np.full((1, 2), V))
    with pytest.raises(ValueError, match=r"d_model \(10\) must be divisible by n_heads \(4\)"):
        TinyGPT(V, CTX, 10, 4, 1)
    with pytest.raises(ValueError, match="n_layers must be a positive int, got 0"):
        TinyGPT(V, CTX, D, H, 0)
    cfg = ours.config.to_dict()
    assert TinyGPT.from_config(cfg).config == TinyGPTConfig(**cfg)


def test_dropout_in_training_only():
    mg.manual_seed(0)
    m = TinyGPT(V, CTX, D, H, 1, dropout=0.3)
    ids, targets = batch()
    assert m.loss(ids, targets).item() != m.loss(ids, targets).item()
    m.eval()
    assert m.loss(ids, targets).item() == m.loss(ids, targets).item()
