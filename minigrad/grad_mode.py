"""Grad mode: whether new operations record the graph that ``backward()`` walks.

Inside ``with minigrad.no_grad():`` operations compute their results but remember nothing, so
no memory is kept for a backward pass: that is how evaluation and optimizer updates run.

Like PyTorch, ``no_grad`` is a context manager and a decorator, and the flag belongs to the
thread that sets it: a ``no_grad`` block in one thread (an evaluation running beside training,
say) leaves every other thread recording as before, and each new thread starts with recording
on.  Decorating a generator function covers its body each time it runs (between ``yield``\\ s
the caller's own mode is back in force, as in PyTorch).
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Generator
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _ThreadGradMode(threading.local):
    """Per-thread state: the flag, and the modes that open ``with`` blocks will restore."""

    #: class attribute: what every thread sees until it sets its own
    enabled: bool = True

    def __init__(self) -> None:
        self.saved: list[bool] = []


#: Read on every operation (``_state.enabled``): one attribute lookup on a thread-local object.
_state = _ThreadGradMode()


def is_grad_enabled() -> bool:
    """True when new operations in this thread record the autograd graph."""
    return _state.enabled


class set_grad_enabled:
    """Set grad mode to ``mode``; as a context manager, restore the previous mode on exit.

    ``set_grad_enabled(False)`` called as a plain function switches it off (in this thread)
    until switched back.
    """

    def __init__(self, mode: bool) -> None:
        self.prev = _state.enabled
        _state.enabled = bool(mode)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        _state.enabled = self.prev


class _GradModeContext:
    """Base of ``no_grad`` / ``enable_grad``: a context manager that is also a decorator.

    The mode to restore goes on a per-thread stack, not on the instance, so one instance may
    be entered by several threads at once (or nested in one) without mixing up their modes.
    """

    mode: bool = True

    def __enter__(self) -> None:
        _state.saved.append(_state.enabled)
        _state.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _state.enabled = _state.saved.pop()

    def __call__(self, fn: F) -> F:
        mode = self.mode
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(fn, mode)  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = _state.enabled
            _state.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                _state.enabled = prev

        return wrapper  # type: ignore[return-value]


def _wrap_generator(fn: Callable[..., Generator], mode: bool) -> Callable[..., Generator]:
    """A generator function whose body runs in ``mode`` every time it is resumed.

    Calling a generator function runs none of its body (it only makes the generator), so a
    plain wrapper would switch the mode on and off before the first line ran. Instead every
    ``next``/``send``/``throw``/``close`` into the inner generator happens with the mode set,
    and the caller's mode is restored while the caller holds control between ``yield``\\ s.
    """

    def in_mode(action: Callable[..., Any], *args: Any) -> Any:
        prev = _state.enabled
        _state.enabled = mode
        try:
            return action(*args)
        finally:
            _state.enabled = prev

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Generator:
        gen = fn(*args, **kwargs)  # runs none of the body yet
        try:
            value = in_mode(gen.send, None)
            while True:
                try:
                    sent = yield value
                except GeneratorExit:
                    in_mode(gen.close)
                    raise
                except BaseException as exc:  # thrown in by the caller: pass it on
                    value = in_mode(gen.throw, exc)
                else:
                    value = in_mode(gen.send, sent)
        except StopIteration as stop:
            return stop.value

    return wrapper


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
