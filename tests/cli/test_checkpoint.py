"""Checkpoints: round trip, atomic files, and clear errors for damaged or incompatible folders."""

from __future__ import annotations

import json

import numpy as np
import pytest

import minigrad
from minigrad.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from minigrad.cli import main
from minigrad.models import MLPConfig, MLPLanguageModel
from minigrad.tokenizers import BPETokenizer, WordTokenizer
from tests.cli.support import assert_one_line_error


@pytest.fixture
def saved(tmp_path):
    minigrad.manual_seed(0)
    model = MLPLanguageModel(MLPConfig(vocab_size=5, context=2, d_embed=3, d_hidden=4))
    tok = WordTokenizer(["a", "b", "c", "d", "e"])
    save_checkpoint(tmp_path, model, tok, training={"steps_done": 7}, word_classes={"a": "x"})
    return tmp_path, model


def test_round_trip_word_tokenizer(saved):
    path, model = saved
    ck = load_checkpoint(path / "model.safetensors")  # a file inside the folder works too
    for key, value in model.state_dict().items():
        assert np.array_equal(ck.model.state_dict()[key], value)
    assert ck.tokenizer.id_to_token == ["a", "b", "c", "d", "e"]
    assert ck.config["training"] == {"steps_done": 7} and ck.word_classes == {"a": "x"}
    assert not list(path.glob(".*.tmp"))  # no temporary files left behind


def test_round_trip_bpe_tokenizer(tmp_path):
    tok = BPETokenizer({bytes([i]): i for i in range(256)} | {b"ab": 256})
    model = MLPLanguageModel(MLPConfig(vocab_size=257, context=2, d_embed=2, d_hidden=2))
    save_checkpoint(tmp_path, model, tok)
    assert load_checkpoint(tmp_path).tokenizer == tok


def _edit_config(path, fn):
    cfg = json.loads((path / "config.json").read_text())
    fn(cfg)
    (path / "config.json").write_text(json.dumps(cfg))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: (p / "config.json").unlink(), "not a checkpoint (no config.json)"),
        (lambda p: (p / "config.json").write_text("{oops"), "corrupt config"),
        (lambda p: _edit_config(p, lambda c: c.update(version=99)), "format version 99"),
        (lambda p: _edit_config(p, lambda c: c["model"].update(type="rnn")), "'rnn'"),
        (lambda p: (p / "tokenizer.json").unlink(), "tokenizer file missing"),
        (lambda p: (p / "tokenizer.json").write_text("[1,"), "corrupt word tokenizer"),
        (lambda p: (p / "model.safetensors").unlink(), "weights file missing"),
        (
            lambda p: _edit_config(p, lambda c: c["model"]["config"].update(d_embed=9)),
            "incompatible with its config",
        ),
    ],
    ids=["no-config", "bad-json", "version", "model-type", "no-tokenizer", "bad-tokenizer",
         "no-weights", "shapes"],
)  # fmt: skip
def test_damaged_checkpoints_raise_clear_errors(saved, damage, message):
    path, _ = saved
    damage(path)
    with pytest.raises(CheckpointError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_checkpoint(path)


def test_flipped_byte_in_the_weights_is_detected(saved):
    path, _ = saved
    blob = bytearray((path / "model.safetensors").read_bytes())
    blob[-3] ^= 0xFF
    (path / "model.safetensors").write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match="corrupt weights"):
        load_checkpoint(path)


def test_truncated_weights_with_a_matching_checksum_are_still_an_error(saved):
    import hashlib

    path, _ = saved
    blob = (path / "model.safetensors").read_bytes()[:40]
    (path / "model.safetensors").write_bytes(blob)
    digest = hashlib.sha256(blob).hexdigest()
    _edit_config(path, lambda c: c["weights"].update(sha256=digest))
    with pytest.raises(CheckpointError, match="corrupt safetensors"):
        load_checkpoint(path)


def test_cli_reports_a_corrupt_checkpoint_in_one_line(saved, capsys):
    path, _ = saved
    (path / "model.safetensors").write_bytes(b"garbage")
    assert main(["neighbors", str(path), "a"]) == 2
    assert_one_line_error(capsys.readouterr().err, "corrupt weights")
    assert main(["neighbors", str(path / "nowhere"), "a"]) == 2
    assert_one_line_error(capsys.readouterr().err, "no such checkpoint folder")


def _rewrite_weights(path, arrays_or_blob):
    """Replace the weights (dict of arrays, or raw bytes) and record their SHA-256 in config."""
    import hashlib

    from safetensors.numpy import save

    blob = arrays_or_blob if isinstance(arrays_or_blob, bytes) else save(arrays_or_blob)
    (path / "model.safetensors").write_bytes(blob)
    _edit_config(path, lambda c: c["weights"].update(sha256=hashlib.sha256(blob).hexdigest()))


def test_huge_sizes_in_the_config_are_refused_before_allocating(saved, monkeypatch):
    """vocab_size 10**11 used to build a model of 10**11 rows first (a raw MemoryError)."""
    path, _ = saved
    _edit_config(path, lambda c: c["model"]["config"].update(vocab_size=10**11))

    def no_allocation(*args, **kwargs):
        raise AssertionError("the model was built before the sizes were checked")

    monkeypatch.setattr("minigrad.models.mlp_lm.Embedding", no_allocation)
    with pytest.raises(CheckpointError, match=r"incompatible with its config.*embed\.weight"):
        load_checkpoint(path)


def test_a_bf16_tensor_is_a_value_error_naming_the_file(saved, capsys):
    import struct

    path, _ = saved
    header = {"embed.weight": {"dtype": "BF16", "shape": [5, 3], "data_offsets": [0, 30]}}
    raw = json.dumps(header).encode()
    _rewrite_weights(path, struct.pack("<Q", len(raw)) + raw + bytes(30))
    with pytest.raises(ValueError, match=r"model\.safetensors: tensor 'embed\.weight' .*BF16"):
        load_checkpoint(path)
    from minigrad.io import read_safetensors

    with pytest.raises(ValueError, match=r"model\.safetensors: tensor 'embed\.weight' .*BF16"):
        read_safetensors(path / "model.safetensors")
    assert main(["neighbors", str(path), "a"]) == 2
    assert_one_line_error(capsys.readouterr().err, "BF16")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_weights_are_refused_with_one_line(saved, bad, capsys):
    path, model = saved
    state = model.state_dict()
    state["out.bias"][2] = bad
    _rewrite_weights(path, state)
    with pytest.raises(CheckpointError, match=r"1 of the 5 values of 'out\.bias' are NaN"):
        load_checkpoint(path)
    loaded = load_checkpoint(path, allow_non_finite=True).model.out.bias.data
    assert not np.isfinite(loaded).all()
    assert main(["neighbors", str(path), "a"]) == 2
    assert_one_line_error(capsys.readouterr().err, "diverged")
    assert main(["generate", str(path), "--prompt", "a b"]) == 2
    assert_one_line_error(capsys.readouterr().err, "diverged")


def test_parameter_shapes_match_the_models():
    """The shapes load_checkpoint checks before allocating are the models' real ones."""
    from hypothesis import given
    from hypothesis import strategies as st

    from minigrad.models import TinyGPT, TinyGPTConfig

    @given(st.integers(1, 9), st.integers(1, 5), st.integers(1, 4), st.integers(1, 6))
    def mlp(v, t, d, h):
        cfg = MLPConfig(vocab_size=v, context=t, d_embed=d, d_hidden=h)
        real = {k: a.shape for k, a in MLPLanguageModel(cfg).state_dict().items()}
        assert cfg.parameter_shapes() == real

    @given(st.integers(1, 9), st.integers(1, 5), st.integers(1, 3), st.integers(1, 3),
           st.integers(0, 3), st.booleans())  # fmt: skip
    def gpt(v, t, heads, per_head, layers, tied):
        cfg = TinyGPTConfig(v, t, heads * per_head, heads, max(layers, 1), tie_weights=tied)
        real = {k: a.shape for k, a in TinyGPT.from_config(cfg).state_dict().items()}
        assert cfg.parameter_shapes() == real

    mlp()
    gpt()
