"""The README's promises are checked: its API example runs, its commands are the ones CI runs,
and the PyTorch bridge example it shows is the file the bridge test runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _python_block_after(heading: str) -> str:
    section = README.split(heading, 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, f"no python block after {heading!r}"
    return match.group(1)


def test_api_example_runs_and_says_true_things(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # it saves a tokenizer file
    ns: dict = {}
    exec(compile(_python_block_after("## The API in a screen"), "README", "exec"), ns)
    # the comments in the example state these facts; hold the README to them
    assert ns["x"].grad.shape == (2, 2)
    assert ns["z"].grad_fn is None
    assert ns["tok"].decode(ns["ids"]) == "hello world"
    assert ns["text"] == "hello world" and ns["starts"][0] == 0
    tok = ns["tok"]
    assert ns["eot"] == tok.eot_token == tok.max_token_value == tok.special_tokens["<|endoftext|>"]
    assert (tmp_path / "tok.mgbpe").exists()


def test_api_example_sparse_rows_claim():
    ns: dict = {}
    code = _python_block_after("## The API in a screen").split("opt.step()")[0]
    exec(compile(code, "README", "exec"), ns)
    grad = ns["emb"].weight.grad
    assert grad.indices.tolist() == [3, 17, 42]
    assert grad.values.shape == (3, 64)


def test_bridge_example_is_the_tested_file():
    example = (ROOT / "tests" / "transformer" / "bridge_example.py").read_text()
    assert example in README


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"```bash\n(.*?)\n```", README, re.S)
    test_cmd = next(c for c in commands if c.rstrip().endswith("pytest"))
    assert test_cmd in (ROOT / ".ci" / "run").read_text()
