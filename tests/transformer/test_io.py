"""save_safetensors / load_safetensors: round trip, atomic writes, errors that say what is wrong."""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest

import minigrad as mg
from minigrad.io import load_safetensors, read_safetensors, save_safetensors
from minigrad.models.tinygpt import TinyGPT
from minigrad.nn.container import Sequential
from minigrad.nn.layers import Linear
from minigrad.nn.normalization import LayerNorm


def small(seed=0, **kw):
    mg.manual_seed(seed)
    return TinyGPT(11, 4, 8, 2, 1, **kw)


def test_round_trip(tmp_path):
    a, b = small(0, tie_weights=True), small(1, tie_weights=True)
    path = save_safetensors(a, tmp_path / "m.safetensors", metadata={"format": "pt"})
    assert os.listdir(tmp_path) == ["m.safetensors"]  # no temporary file left behind
    result = load_safetensors(b, path)
    assert result.missing_keys == [] and result.unexpected_keys == []
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[k], v)
    assert b.head.weight is b.tok_emb.weight  # loading keeps the tie
    assert set(read_safetensors(path)) == set(a.state_dict())


def test_safetensors_opens_in_torch(tmp_path):
    pytest.importorskip("torch")
    from safetensors.torch import load_file

    m = small()
    save_safetensors(m, tmp_path / "m.safetensors")
    loaded = load_file(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(loaded["head.weight"].numpy(), m.head.weight.data)


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    save_safetensors(Linear(2, 3), path)
    before = path.read_bytes()

    def boom(*_):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        save_safetensors(Linear(5, 3), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.safetensors"]


def test_key_and_shape_errors_name_them_and_change_nothing(tmp_path):
    path = tmp_path / "ln.safetensors"
    save_safetensors(Sequential(LayerNorm(4)), path)
    lin = Linear(4, 4)
    before = lin.state_dict()
    with pytest.raises(ValueError) as exc:
        load_safetensors(lin, path)
    msg = str(exc.value)
    assert "ln.safetensors" in msg
    assert "missing keys (in the model, not in the file): ['weight', 'bias']" in msg
    assert "unexpected keys (in the file, not in the model): ['0.bias', '0.weight']" in msg
    save_safetensors(LayerNorm(4), path)
    with pytest.raises(
        ValueError, match=r"'weight': the file has shape \(4,\), the model \(4, 4\)"
    ):
        load_safetensors(lin, path)
    for k, v in lin.state_dict().items():
        np.testing.assert_array_equal(v, before[k])  # untouched


def test_non_strict_returns_missing_and_unexpected(tmp_path):
    path = tmp_path / "m.safetensors"
    save_safetensors(Linear(3, 2, bias=False), path)
    target = Linear(3, 2)
    result = load_safetensors(target, path, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == []
    np.testing.assert_array_equal(target.weight.data, read_safetensors(path)["weight"])


def test_dtype_mismatch(tmp_path):
    path = tmp_path / "m.safetensors"
    save_safetensors(LayerNorm(3, dtype=np.float64), path)
    with pytest.raises(ValueError, match="'weight': the file has dtype float64, the model float32"):
        load_safetensors(LayerNorm(3), path)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda raw: raw[: len(raw) // 2],  # truncated
        lambda raw: b"not a safetensors file at all",
        lambda raw: struct.pack("<Q", 10**9) + raw[8:],  # header length beyond the file
        lambda raw: b"",
    ],
)
def test_corrupt_files_raise_value_error_naming_the_file(tmp_path, corrupt):
    path = tmp_path / "bad.safetensors"
    save_safetensors(Linear(3, 2), path)
    path.write_bytes(corrupt(path.read_bytes()))
    with pytest.raises(ValueError, match=r"bad\.safetensors is not a valid safetensors file"):
        load_safetensors(Linear(3, 2), path)


def test_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="expects a Module, got dict"):
        save_safetensors({}, tmp_path / "x")
    with pytest.raises(TypeError, match="metadata must map str to str"):
        save_safetensors(Linear(1, 1), tmp_path / "x", metadata={"a": 1})
    with pytest.raises(FileNotFoundError):
        load_safetensors(Linear(1, 1), tmp_path / "missing.safetensors")


def test_tied_weights_from_torch_save_model(tmp_path):
    """safetensors.torch.save_model writes a tied tensor once; loading must still work."""
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_model

    from benchmarks.torch_tinygpt import TorchTinyGPT

    torch.manual_seed(0)
    theirs = TorchTinyGPT(11, 4, 8, 2, 1, tie_weights=True)
    save_model(theirs, str(tmp_path / "t.safetensors"))
    assert len(read_safetensors(tmp_path / "t.safetensors")) == len(theirs.state_dict()) - 1
    ours = small(tie_weights=True)
    assert load_safetensors(ours, tmp_path / "t.safetensors").missing_keys == []
    ids = np.array([[1, 2, 3]])
    want = theirs(torch.from_numpy(ids)).detach().numpy()
    np.testing.assert_allclose(ours(ids).data, want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="missing keys"):  # untied: head.weight is missing
        load_safetensors(small(), tmp_path / "t.safetensors")


def test_tied_names_with_different_values_are_rejected(tmp_path):
    from safetensors.numpy import save_file

    m = small(tie_weights=True)
    state = m.state_dict()
    state["head.weight"] = state["head.weight"] + 1
    save_file(state, str(tmp_path / "bad.safetensors"))
    with pytest.raises(ValueError, match="one tied parameter in the model but hold different"):
        load_safetensors(m, tmp_path / "bad.safetensors")
