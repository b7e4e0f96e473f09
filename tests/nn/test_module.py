"""Module / Parameter bookkeeping: names, state_dict round trips and errors, modes, repr."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.body = Block()
        self.scale = nn.Parameter(np.ones(1, np.float32))
        self.not_a_param = np.zeros(3)

    def forward(self, ids):
        return self.body(self.emb(ids)) * self.scale


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 2)

    def forward(self, x):
        return self.lin(x).tanh()


def test_parameter_is_a_tensor_that_requires_grad():
    p = nn.Parameter(np.zeros((2, 3), np.float32))
    assert isinstance(p, mg.Tensor) and p.requires_grad and p.is_leaf
    assert not nn.Parameter(np.zeros(2), requires_grad=False).requires_grad
    a = np.zeros(3, np.float32)
    assert nn.Parameter(a).data is a  # shares memory, as torch.nn.Parameter does
    assert repr(p).startswith("Parameter containing:\ntensor(")
    with pytest.raises(TypeError, match="floating point"):
        nn.Parameter(np.zeros(2, np.int64))


def test_named_parameters_children_modules():
    m = Tiny()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["scale", "emb.weight", "body.lin.weight", "body.lin.bias"]
    assert len(list(m.parameters())) == 4
    assert [type(c).__name__ for c in m.children()] == ["Embedding", "Block"]
    assert [n for n, _ in m.named_modules()] == ["", "emb", "body", "body.lin"]
    assert [n for n, _ in m.body.named_parameters(prefix="body")] == [
        "body.lin.weight",
        "body.lin.bias",
    ]
    assert [n for n, _ in m.named_parameters(recurse=False)] == ["scale"]


def test_shared_parameter_listed_once_and_reassignment():
    m = Tiny()
    m.body.lin.weight = m.body.lin.weight  # same object again
    m.tied = m.emb  # the same module under two names
    assert len(list(m.parameters())) == 4
    m.scale = 3.0  # a plain value replaces the parameter
    assert "scale" not in dict(m.named_parameters()) and m.scale == 3.0
    del m.tied
    with pytest.raises(AttributeError, match="tied"):
        m.tied  # noqa: B018


def test_call_forward_train_eval_zero_grad():
    m = Tiny()
    out = m(np.array([1, 2]))
    assert out.shape == (2, 2)
    out.sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(not p.grad.any() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    assert m.training and m.body.lin.training
    assert m.eval() is m
    assert not m.training and not m.body.lin.training
    m.train()
    assert m.body.lin.training


def test_state_dict_round_trip_copies_values():
    a, b = Tiny(), Tiny()
    sd = a.state_dict()
    assert list(sd) == ["scale", "emb.weight", "body.lin.weight", "body.lin.bias"]
    assert sd["emb.weight"] is not a.emb.weight.data
    version = b.emb.weight._version[0]
    assert b.load_state_dict(sd) == ([], [])
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)
    assert b.emb.weight._version[0] == version + 1
    # Tensors are accepted as values too
    b.load_state_dict({k: mg.tensor(v) for k, v in sd.items()})


def test_load_state_dict_errors_name_the_keys_and_shapes():
    m = Tiny()
    sd = m.state_dict()
    before = m.emb.weight.data.copy()
    sd["emb.weight"] = sd["emb.weight"] + 1
    del sd["scale"]
    sd["extra.weight"] = np.zeros(2)
    with pytest.raises(ValueError, match=r"missing keys: \['scale'\].*unexpected keys: \['extra"):
        m.load_state_dict(sd)
    np.testing.assert_array_equal(m.emb.weight.data, before)  # nothing changed on error
    missing, unexpected = m.load_state_dict(sd, strict=False)
    assert missing == ["scale"] and unexpected == ["extra.weight"]
    np.testing.assert_array_equal(m.emb.weight.data, before + 1)

    sd = m.state_dict()
    sd["body.lin.weight"] = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"'body.lin.weight'.*\(3, 4\).*\(2, 4\)"):
        m.load_state_dict(sd, strict=False)


def test_repr_is_nested_like_pytorch():
    assert repr(Tiny()) == (
        "Tiny(\n"
        "  (emb): Embedding(10, 4)\n"
        "  (body): Block(\n"
        "    (lin): Linear(in_features=4, out_features=2, bias=True)\n"
        "  )\n"
        ")"
    )


def test_forgetting_super_init_and_missing_forward():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(2))

    with pytest.raises(AttributeError, match=r"super\(\)\.__init__"):
        Bad()
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()()


@pytest.mark.parametrize(
    "bad",
    [
        lambda shape: np.full(shape, "x"),  # text
        lambda shape: np.full(shape, {}, dtype=object),  # objects that are not numbers
        lambda shape: "not an array",  # not even an array of the right shape
    ],
    ids=["text", "objects", "string"],
)
def test_load_state_dict_changes_nothing_when_the_last_value_is_bad(bad):
    """The check runs over every key before any copy: a bad last key used to leave the earlier
    parameters overwritten with the new values."""
    m = Tiny()
    before = {k: v.copy() for k, v in m.state_dict().items()}
    versions = [p._version[0] for p in m.parameters()]
    sd = {k: v + 1 for k, v in m.state_dict().items()}
    last = list(sd)[-1]
    sd[last] = bad(sd[last].shape)
    with pytest.raises(ValueError, match=repr(last)):
        m.load_state_dict(sd)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)
    assert [p._version[0] for p in m.parameters()] == versions
