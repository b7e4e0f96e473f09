"""Random autograd graphs, built step by step in minigrad and PyTorch, must agree: values,
flags, gradients, and when backward refuses (see ``minigrad.testing.graph_machine``)."""

from __future__ import annotations

import pytest
from hypothesis import settings

pytest.importorskip("torch")

from minigrad.testing.graph_machine import GraphMachine

pytestmark = pytest.mark.torch

TestGraphMachine = GraphMachine.TestCase
# a modest number of programs per run: each is up to 25 steps (HYPOTHESIS_PROFILE=thorough
# runs ten times more)
TestGraphMachine.settings = settings(
    settings.default,
    max_examples=max(5, settings.default.max_examples // 2),
    stateful_step_count=25,
    deadline=None,
    report_multiple_bugs=False,  # one failure, shrunk fast; the next run finds the next one
)
