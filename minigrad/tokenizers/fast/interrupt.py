"""Ctrl-C during compiled work: note it while a kernel runs, raise it between kernel calls.

Python runs signal handlers only between bytecodes, so a SIGINT that arrives while a numba
kernel runs waits until the kernel returns; a kernel that runs for a minute ignores Ctrl-C for a
minute.  Worse, the default handler then raises ``KeyboardInterrupt`` while numba is still
converting the kernel's return value, and numba reports that as ``SystemError: CPUDispatcher(...)
returned a result with an exception set``.  So long compiled work is cut into short calls, and
runs inside :func:`deferred_sigint`::

    with deferred_sigint() as interrupt:
        while not done:
            state, done = kernel(state, budget)   # a few milliseconds
            interrupt.poll()                       # Ctrl-C arrived? raise it here

While the block runs, SIGINT only sets a flag; ``poll()`` then hands it to the handler that was
installed before (Python's default raises ``KeyboardInterrupt``; a program's own handler is
called as it would have been), at a point where Python code, not a kernel, is running.

What it leaves out: anything outside the main thread (Python delivers signals to the main
thread only; there the block changes nothing), and a process that ignores SIGINT (``nohup``, a
background job) or left it to the operating system's default keeps that behaviour.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any


class DeferredSigint:
    """The context manager behind :func:`deferred_sigint`."""

    def __init__(self) -> None:
        self._previous: Any = None
        self._installed = False
        self._pending: tuple[int, FrameType | None] | None = None

    def __enter__(self) -> DeferredSigint:
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if callable(previous):  # not SIG_IGN, SIG_DFL or a handler set outside Python
                self._previous = signal.signal(signal.SIGINT, self._note)
                self._installed = True
        return self

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self._pending = (signum, frame)

    def poll(self) -> None:
        """Hand a Ctrl-C that arrived since the last poll to the previous handler (which raises
        ``KeyboardInterrupt`` by default)."""
        if self._pending is not None:
            signum, frame = self._pending
            self._pending = None
            self._previous(signum, frame)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._installed:
            return
        signal.signal(signal.SIGINT, self._previous)
        self._installed = False
        if exc_type is None:
            self.poll()  # a Ctrl-C during the last call is not lost


def deferred_sigint() -> DeferredSigint:
    """A context in which Ctrl-C is noted and raised only by ``poll()`` (module docstring)."""
    return DeferredSigint()
