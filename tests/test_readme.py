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


def test_second_derivatives_example_says_true_things():
    import numpy as np

    ns: dict = {}
    exec(compile(_python_block_after("### Second derivatives"), "README", "exec"), ns)
    assert ns["dy"].item() == 12.0 and ns["d2y"].item() == 12.0  # 3x^2 and 6x at x = 2
    t = np.tanh(ns["w"].data)
    # loss = sum tanh(w)^2 has a diagonal Hessian: 2 (1 - t^2)^2 - 4 t^2 (1 - t^2)
    h00 = 2 * (1 - t[0] ** 2) ** 2 - 4 * t[0] ** 2 * (1 - t[0] ** 2)
    np.testing.assert_allclose(ns["hv"].data, [h00, 0.0], rtol=1e-12)


def test_the_graph_picture_is_committed_and_made_by_the_command_shown(tmp_path, monkeypatch):
    from minigrad.cli import main

    section = README.split("### Any expression as a picture", 1)[1].split("\n## ", 1)[0]
    assert "![" in section and "](docs/graph.png)" in section
    command = re.search(r"```bash\nminigrad (graph .*?) -o graph.png\n```", section).group(1)
    png = (ROOT / "docs" / "graph.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # as committed: drawn by matplotlib, no Graphviz
    import shlex

    assert main([*shlex.split(command), "-o", str(tmp_path / "g.png")]) == 0
    made = (tmp_path / "g.png").read_bytes()
    assert made[16:24] == png[16:24]  # the same width and height: the same picture's layout
