"""Grad mode: whether new operations record the graph that ``backward()`` walks.

Inside ``with minigrad.no_grad():`` operations compute their results but remember nothing, so
no memory is kept for a backward pass: that is how evaluation and optimizer updates run.

Like PyTorch, ``no_grad`` is a context manager and a decorator.  Unlike PyTorch, the flag is
process-wide, not per thread (this library is single-threaded at the Python level).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

# The one flag.  Read on every operation, so it is a plain module global.
_enabled: bool = True


def is_grad_enabled() -> bool:
    """True when new operations record the autograd graph."""
    return _enabled


class set_grad_enabled:
    """Set grad mode to ``mode``; as a context manager, restore the previous mode on exit.

    ``set_grad_enabled(False)`` called as a plain function switches it off until switched back.
    """

    def __init__(self, mode: bool) -> None:
        global _enabled
        self.prev = _enabled
        _enabled = bool(mode)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        global _enabled
        _enabled = self.prev


class _GradModeContext:
    """Base of ``no_grad`` / ``enable_grad``: a context manager that is also a decorator."""

    mode: bool = True

    def __enter__(self) -> None:
        global _enabled
        self.prev = _enabled
        _enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        global _enabled
        _enabled = self.prev

    def __call__(self, fn: F) -> F:
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            global _enabled
            prev = _enabled
            _enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                _enabled = prev

        return wrapper  # type: ignore[return-value]


class no_grad(_GradModeContext):
    """Turn graph recording off: ``with no_grad(): ...``, ``@no_grad()`` or ``@no_grad``."""

    def __new__(cls, func: Callable[..., Any] | None = None) -> Any:
        self = super().__new__(cls)
        if func is not None:  # used bare as ``@no_grad``: decorate right away
            return self(func)
        return self

    mode = False


class enable_grad(_GradModeContext):
    """Turn graph recording back on inside a ``no_grad`` region."""

    mode = True
