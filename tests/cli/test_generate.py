"""``minigrad generate``: a trained checkpoint continues a prompt; clear errors otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad.checkpoint import load_checkpoint
from minigrad.cli import main
from minigrad.commands.generate import sample_next
from tests.cli.support import assert_one_line_error

TINY = ["--steps", "40", "--sentences", "600", "--seed", "1"]


@pytest.fixture(scope="module")
def tiny_transformer(tmp_path_factory):
    out = tmp_path_factory.mktemp("tf")
    assert (
        main(["train", "--model", "transformer", *TINY, "--d-embed", "8", "--out", str(out)]) == 0
    )
    return out


def _prompt_of(ck, n):
    words = [w for w in ck.tokenizer.id_to_token if w.isalpha()]
    return " ".join(words[:n])


def test_transformer_continues_a_prompt_greedily_and_reproducibly(tiny_transformer, capsys):
    ck = load_checkpoint(tiny_transformer)
    prompt = _prompt_of(ck, 2)
    args = ["generate", str(tiny_transformer), "--prompt", prompt, "--max-new-tokens", "5"]
    assert main([*args, "--temperature", "0"]) == 0
    greedy = capsys.readouterr().out.strip()
    assert greedy.startswith(prompt)
    assert len(greedy.split()) == 2 + 5  # word-level tokens: one word per new token
    assert main([*args, "--seed", "3"]) == 0
    first = capsys.readouterr().out
    assert main([*args, "--seed", "3"]) == 0
    assert capsys.readouterr().out == first


def test_mlp_checkpoint_generates_from_its_window(small_run, capsys):
    ck = load_checkpoint(small_run)
    window = ck.model.config.context
    prompt = _prompt_of(ck, window)
    assert main(["generate", str(small_run), "--prompt", prompt, "--max-new-tokens", "3"]) == 0
    assert len(capsys.readouterr().out.split()) == window + 3
    short = _prompt_of(ck, window - 1)
    assert main(["generate", str(small_run), "--prompt", short]) == 2
    assert_one_line_error(capsys.readouterr().err, f"reads {window} tokens at a time")


def test_unknown_word_and_bad_numbers_are_clear_errors(small_run, capsys):
    assert main(["generate", str(small_run), "--prompt", "zyzzyva qqq"]) == 2
    assert_one_line_error(capsys.readouterr().err, "never seen")
    assert main(["generate", str(small_run), "--prompt", "cat", "--top-k", "0"]) == 2
    assert_one_line_error(capsys.readouterr().err, "--top-k must be >= 1")


def test_sampling_respects_top_k_and_temperature():
    logits = np.array([0.0, 5.0, 4.0, -1.0])
    rng = np.random.default_rng(0)
    assert sample_next(logits, 0.0, None, rng) == 1
    draws = {sample_next(logits, 1.0, 2, rng) for _ in range(200)}
    assert draws == {1, 2}  # only the two most likely tokens are ever drawn
    assert {sample_next(logits, 1e-3, None, rng) for _ in range(50)} == {1}
