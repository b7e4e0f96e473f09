"""Stopping a training run cleanly: Ctrl-C (SIGINT) and SIGTERM finish the step, then save.

SIGTERM is what ``kill``, ``timeout`` and job schedulers (Slurm, Kubernetes, systemd) send
before they kill a process for good, so it is treated exactly like Ctrl-C: the run stops after
the step in progress, saves its checkpoint and exits with the conventional status 128 + the
signal's number (130 for SIGINT, 143 for SIGTERM).

Why not let Python raise ``KeyboardInterrupt`` wherever it happens to be: in the middle of an
optimizer step some parameters would be updated and others not, and inside numba compiling a
kernel it surfaces as an unrelated ``RuntimeError``.  So the first signal only sets
``requested``; the loop checks it between steps.  A second signal raises ``KeyboardInterrupt``
at once, except inside :meth:`StopSignals.critical` (the optimizer update and its bookkeeping,
a few milliseconds), where it is held back until the section ends, so that even a hurried
stop leaves the weights, the optimizer and the step counter consistent with each other.

Outside the main thread (where Python cannot install handlers) nothing is installed; a process
started with a signal ignored (``nohup``, a background job) keeps ignoring it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

#: the signals that stop a run, with the words the log uses for them
STOP_SIGNALS = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


class StopSignals:
    """``with StopSignals(log) as stop:`` ... ``if stop.requested: ...`` between steps."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.requested = False
        #: the signal that asked to stop (``signal.SIGINT`` / ``SIGTERM``), or None
        self.signum: int | None = None
        self._log = log
        self._previous: dict[int, Any] = {}
        self._in_critical = False
        self._held_back = False

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum in STOP_SIGNALS:
            if signal.getsignal(signum) is not signal.SIG_IGN:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a process stopped by it."""
        return 128 + int(self.signum or signal.SIGINT)

    def _handle(self, signum: int, frame: object) -> None:
        name = STOP_SIGNALS.get(signal.Signals(signum), str(signum))
        if self.requested:  # the second signal: stop now
            if self._in_critical:
                self._held_back = True
                return
            raise KeyboardInterrupt
        self.requested = True
        self.signum = signum
        again = "press it again" if signum == signal.SIGINT else "send it again"
        self._log(f"\n{name}: stopping after this step, then saving ({again} to stop at once)")

    @contextlib.contextmanager
    def critical(self) -> Iterator[None]:
        """A section a second signal must not cut in half (it takes effect right after)."""
        self._in_critical = True
        try:
            yield
        finally:
            self._in_critical = False
        if self._held_back:
            self._held_back = False
            raise KeyboardInterrupt
