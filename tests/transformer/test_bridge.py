"""The README PyTorch bridge example runs as written; PyTorch continues where minigrad stopped."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).with_name("bridge_example.py")


def test_readme_bridge_example_runs_and_continues_training(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    monkeypatch.chdir(tmp_path)  # the example writes tinygpt.safetensors in the working folder
    ns = runpy.run_path(str(EXAMPLE), run_name="__main__")
    model, ids, targets, losses = ns["model"], ns["ids"], ns["targets"], ns["losses"]
    # PyTorch's first loss is minigrad's loss at the weights it saved: the hand-over is exact
    np.testing.assert_allclose(losses[0], model.loss(ids, targets).item(), rtol=1e-5)
    assert losses[-1] < losses[0]  # and training goes on from there
    assert (tmp_path / "tinygpt.safetensors").exists()
