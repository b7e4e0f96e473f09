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
