"""Tools for testing differentiable code: ``gradcheck`` and Hypothesis strategies.

Public so that you can test your own ops the way minigrad tests its own::

    from hypothesis import given
    from minigrad.testing import gradcheck, tensors

    @given(tensors())
    def test_my_op(x):
        assert gradcheck(my_op, x)


The strategies need Hypothesis (the ``dev`` extra); ``gradcheck`` needs nothing more than
minigrad, so the strategies are imported on first use.
"""

from typing import Any

from minigrad.testing.gradcheck import GradcheckError, gradcheck

_STRATEGIES = ("broadcastable_shapes", "matmul_shapes", "safe_floats", "shapes", "tensors")


def __getattr__(name: str) -> Any:
    if name in _STRATEGIES:
        from minigrad.testing import strategies

        return getattr(strategies, name)
    raise AttributeError(f"module 'minigrad.testing' has no attribute {name!r}")


__all__ = [
    "GradcheckError",
    "broadcastable_shapes",
    "gradcheck",
    "matmul_shapes",
    "safe_floats",
    "shapes",
    "tensors",
]
