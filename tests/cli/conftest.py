"""Shared fixtures for the CLI tests: one small training run that several tests read."""

from __future__ import annotations

from pathlib import Path

import pytest

from minigrad.cli import main
from tests.cli.support import PNG_MAGIC

#: A run small enough for the test suite (about a second) that still learns the classes.
SMALL_RUN = ["--steps", "300", "--sentences", "1500", "--seed", "0"]


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small_run")
    assert main(["train", *SMALL_RUN, "--out", str(out)]) == 0
    return out


@pytest.fixture
def placeholder_plots(monkeypatch: pytest.MonkeyPatch) -> None:
    """Write a placeholder instead of drawing ``loss.png`` and ``embeddings.png``.

    matplotlib takes about a second per run to draw the two plots, nearly all of a tiny run's
    time. Tests about the other files use this; the ``small_run`` tests check the real PNGs.
    """
    import minigrad.commands.train as train_cmd

    def placeholder(path: Path, *args: object, **kwargs: object) -> None:
        Path(path).write_bytes(PNG_MAGIC)

    monkeypatch.setattr(train_cmd, "plot_loss", placeholder)
    monkeypatch.setattr(train_cmd, "plot_embeddings", placeholder)
