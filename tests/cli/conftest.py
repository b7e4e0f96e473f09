"""Shared fixtures for the CLI tests: one small training run that several tests read."""

from __future__ import annotations

from pathlib import Path

import pytest

from minigrad.cli import main

#: A run small enough for the test suite (about a second) that still learns the classes.
SMALL_RUN = ["--steps", "300", "--sentences", "1500", "--seed", "0"]


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small_run")
    assert main(["train", *SMALL_RUN, "--out", str(out)]) == 0
    return out
