"""The first two lines every minigrad tokenizer file starts with, and their checks.

Both file formats (``io.py`` for BPE, ``word_io.py`` for words) begin::

    <format name> <version>
    {... one JSON object ...}

:func:`read_header` checks those two lines and returns the JSON object; every problem raises the
caller's error class with a one-line message that names the file, so both formats report a wrong
format, an unsupported version, a missing or broken header the same way.
"""

from __future__ import annotations

import json
from typing import Any


def read_header(
    lines: list[str],
    *,
    name: str,
    version: int,
    what: str,
    source: str,
    error: type[Exception] = ValueError,
    hints: dict[str, str] | None = None,
) -> Any:
    """Check line 1 (``"<name> <version>"``) and parse line 2 as JSON; return the parsed value.

    ``what`` names the format in messages ("minigrad tokenizer file"); ``hints`` maps another
    format's name to a sentence appended when line 1 names that format instead.
    """
    first = lines[0].split(" ")
    if len(first) != 2 or first[0] != name:
        hint = (hints or {}).get(first[0], "")
        raise error(
            f"{source}: not a {what} (line 1 should be '{name} {version}', got "
            f"{lines[0][:80]!r}){hint}"
        )
    if first[1] != str(version):
        raise error(
            f"{source}: file format version {first[1][:20]!r} is not supported "
            f"(this minigrad reads version {version})"
        )
    if len(lines) < 3:  # a complete header line ends with "\n", so a third (maybe empty) part
        raise error(f"{source}: truncated: the header on line 2 is missing or incomplete")
    try:
        return json.loads(lines[1])
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise error(f"{source}: line 2 is not a valid JSON header ({why})") from None
