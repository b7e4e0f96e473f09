"""Tools for testing differentiable code, public so that you can test your own ops the way
minigrad tests its own.

* ``gradcheck(fn, *inputs)``: backward against finite differences, in float64; a failure says
  which Jacobian entries are wrong (``fast_mode=False`` compares every entry).
* ``gradgradcheck(fn, *inputs)``: the double backward (``create_graph=True``) against finite
  differences of the first backward, reported the same way.
* ``assert_matches_torch(fn, torch_fn, *inputs)``: forward and gradients against PyTorch
  (skipped when PyTorch is absent).
* Hypothesis strategies: ``tensors``, ``shapes``, ``broadcastable_shapes``, ``matmul_shapes``,
  ``safe_floats`` for op inputs; ``ids``, ``targets``, ``texts`` for language-model inputs.
* ``warm_up()``: compile the numba kernels before timed tests run; the pytest plugin installed
  with minigrad loads the ``minigrad`` Hypothesis profile (no deadline), see the README.
* ``GraphMachine``: a Hypothesis state machine that builds random graphs and checks them against
  PyTorch, to run as it is or to extend with your own ops.

::

    from hypothesis import given
    from minigrad.testing import gradcheck, tensors

    @given(tensors())
    def test_my_op(x):
        assert gradcheck(my_op, x)

The strategies and the state machine need Hypothesis (the ``dev`` extra), so they are imported
on first use; ``gradcheck``, ``assert_matches_torch`` and ``warm_up`` need nothing more than
minigrad.
"""

from typing import Any

from minigrad.testing.gradcheck import GradcheckError, gradcheck
from minigrad.testing.gradgradcheck import gradgradcheck
from minigrad.testing.torch_compare import assert_matches_torch
from minigrad.testing.warmup import warm_up

_LAZY = {
    "broadcastable_shapes": "strategies",
    "matmul_shapes": "strategies",
    "safe_floats": "strategies",
    "shapes": "strategies",
    "tensors": "strategies",
    "ids": "language",
    "targets": "language",
    "texts": "language",
    "GraphMachine": "graph_machine",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        import importlib

        return getattr(importlib.import_module(f"minigrad.testing.{module}"), name)
    if name == "register_profile":  # lives outside the package: see _minigrad_pytestplugin
        from _minigrad_pytestplugin import register_profile

        return register_profile
    raise AttributeError(f"module 'minigrad.testing' has no attribute {name!r}")


__all__ = [
    "GradcheckError",
    "GraphMachine",
    "assert_matches_torch",
    "broadcastable_shapes",
    "gradcheck",
    "gradgradcheck",
    "ids",
    "matmul_shapes",
    "register_profile",
    "safe_floats",
    "shapes",
    "targets",
    "tensors",
    "texts",
    "warm_up",
]
