"""Mistakes that used to end in tracebacks: one line ``minigrad: error: ...``, exit code 2.

generate's NaN temperature, negative seeds, special-token text in a prompt; ``graph -o`` into a
folder that is missing or read-only; sizes that cannot fit in memory, which must say what to
lower, before anything is allocated (issue 13, point 9).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import minigrad
from minigrad.checkpoint import save_checkpoint
from minigrad.cli import main
from minigrad.models import MLPConfig, MLPLanguageModel
from minigrad.tokenizers import BPETokenizer, WordTokenizer
from tests.cli.support import assert_one_line_error, run_cli

GIB = 1 << 30


@pytest.fixture
def word_checkpoint(tmp_path):
    minigrad.manual_seed(0)
    model = MLPLanguageModel(MLPConfig(vocab_size=3, context=2, d_embed=2, d_hidden=3))
    save_checkpoint(tmp_path / "ck", model, WordTokenizer(["a", "b", "c"]))
    return tmp_path / "ck"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--temperature", "nan"], "--temperature must be a finite number >= 0, got nan"),
        (["--temperature", "inf"], "--temperature must be a finite number >= 0, got inf"),
        (["--seed", "-1"], "--seed must be >= 0, got -1"),
    ],
)
def test_generate_refuses_bad_numbers_in_one_line(word_checkpoint, capsys, flags, message):
    assert main(["generate", str(word_checkpoint), "--prompt", "a b", *flags]) == 2
    assert_one_line_error(capsys.readouterr().err, message)


def test_generate_refuses_special_token_text_in_the_prompt(tmp_path, capsys):
    ranks = {bytes([i]): i for i in range(256)}
    tok = BPETokenizer(ranks, special_tokens={"<|endoftext|>": 256})
    minigrad.manual_seed(0)
    model = MLPLanguageModel(MLPConfig(vocab_size=257, context=2, d_embed=2, d_hidden=3))
    save_checkpoint(tmp_path / "ck", model, tok)
    args = ["generate", str(tmp_path / "ck"), "--prompt", "hi <|endoftext|> there"]
    assert main(args) == 2
    assert_one_line_error(capsys.readouterr().err, "the prompt contains '<|endoftext|>'")
    assert main([*args[:3], "hi there", "--max-new-tokens", "2"]) == 0  # ordinary text works


def test_train_refuses_a_negative_seed(tmp_path, capsys):
    assert main(["train", "--seed", "-1", "--out", str(tmp_path / "o")]) == 2
    assert_one_line_error(capsys.readouterr().err, "--seed must be >= 0, got -1")


def test_graph_output_into_a_missing_folder(tmp_path, capsys):
    for name in ("g.dot", "g.svg"):
        target = tmp_path / "no" / "such" / name
        assert main(["graph", "-o", str(target)]) == 2
        assert_one_line_error(capsys.readouterr().err, "does not exist")
    (tmp_path / "file").write_text("x")
    assert main(["graph", "-o", str(tmp_path / "file" / "g.dot")]) == 2
    assert_one_line_error(capsys.readouterr().err, "is not a folder")
    assert main(["graph", "-o", str(tmp_path)]) == 2
    assert_one_line_error(capsys.readouterr().err, "-o must end in .svg, .png or .dot")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_graph_output_into_a_read_only_folder(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert main(["graph", "-o", str(locked / "g.dot")]) == 2
        assert_one_line_error(capsys.readouterr().err, "is not writable")
    finally:
        locked.chmod(0o755)


# ----------------------------------------------------------------------------- memory
@pytest.fixture
def eight_gib(monkeypatch):
    """Pretend 8 GiB are available, so the outcome does not depend on this machine."""
    monkeypatch.setattr("minigrad.commands.memory.available_memory", lambda: 8 * GIB)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--batch-size", str(10**9)], "lower --batch-size"),
        (["--d-embed", str(10**7)], "lower --d-embed"),
        (["--model", "transformer", "--d-embed", "200000", "--n-heads", "2"], "lower --d-embed"),
        (["--model", "transformer", "--n-layers", str(10**7)], "--n-layers"),
        (["--sentences", str(10**10)], "lower --sentences"),
    ],
    ids=["batch", "mlp-width", "transformer-width", "layers", "sentences"],
)
def test_sizes_that_cannot_fit_say_what_to_lower(tmp_path, capsys, eight_gib, flags, message):
    out = tmp_path / "o"
    assert main(["train", *flags, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert_one_line_error(err, message)
    assert "do not fit in memory" in err or "--sentences" in err
    assert not out.exists()


def test_a_corpus_that_is_not_a_regular_file_is_refused(tmp_path, capsys):
    assert main(["train", "--corpus", "/dev/zero", "--out", str(tmp_path / "o")]) == 2
    assert_one_line_error(capsys.readouterr().err, "is not a regular file")


def test_a_corpus_larger_than_memory_is_refused_before_reading(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("minigrad.commands.memory.available_memory", lambda: 1 << 20)
    big = tmp_path / "big.txt"
    with open(big, "wb") as f:
        f.truncate(4 << 20)  # 4 MiB, sparse: nothing is really written
    monkeypatch.setattr(
        "minigrad.commands.train_data.read_text_file",
        lambda *a, **k: pytest.fail("the corpus was read"),
    )
    assert main(["train", "--corpus", str(big), "--out", str(tmp_path / "o")]) == 2
    assert_one_line_error(capsys.readouterr().err, "use a smaller file")


def test_huge_batch_in_a_subprocess_is_refused_with_real_memory(tmp_path):
    """No patching: 10**9 windows of 4 ids need at least 64 GB for the ids alone."""
    r = run_cli("train", "--batch-size", str(10**12), "--out", "o", cwd=tmp_path, timeout=120)
    assert r.returncode == 2
    assert_one_line_error(r.stderr, "lower --batch-size")


def test_memory_estimates_are_lower_bounds_of_the_real_models():
    """The estimate never exceeds what the model really holds (so it never refuses wrongly)."""
    from minigrad.commands import memory
    from minigrad.commands.train_models import build_model
    from minigrad.commands.train_settings import TrainSettings

    for s in (
        TrainSettings(),
        TrainSettings(model="transformer", d_embed=32, n_heads=4, n_layers=2, context=16),
    ):
        model = build_model(s.model, 300, s)
        real = sum(p.data.size for p in model.parameters())
        assert memory.parameter_count(s, 300) == real
        assert np.isfinite(memory.step_bytes(s, 300))
