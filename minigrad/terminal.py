"""Colour for text printed to a terminal: :class:`Style` and :func:`use_colour`.

Shared by ``minigrad.explain`` (the printed walk-through) and the ``minigrad`` command; it
imports nothing of minigrad.
"""

from __future__ import annotations

import os
from typing import IO, Any, ClassVar


def use_colour(stream: IO[str], choice: str = "auto") -> bool:
    """Colour when asked (``always``), never with ``never``; ``auto``: a TTY and no ``NO_COLOR``.

    ``NO_COLOR`` (https://no-color.org) is honoured when set to any non-empty value.
    """
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


class Style:
    """ANSI escape codes, or nothing: ``Style(True).bold("x")`` -> ``"\\x1b[1mx\\x1b[0m"``."""

    CODES: ClassVar[dict[str, str]] = {
        "bold": "1",
        "dim": "2",
        "red": "31",
        "green": "32",
        "yellow": "33",
        "blue": "34",
        "magenta": "35",
        "cyan": "36",
    }

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __getattr__(self, name: str) -> Any:
        code = Style.CODES.get(name)
        if code is None:
            raise AttributeError(name)
        return lambda text: f"\x1b[{code}m{text}\x1b[0m" if self.enabled else str(text)
