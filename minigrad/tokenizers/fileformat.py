"""minigrad's tokenizer files: one small text format, shared by both tokenizers.

A file is UTF-8 text with ``\\n`` line ends::

    minigrad-bpe 1                    the format's name and version
    {"name": "demo", ...}             a header: one JSON object
    AA== 0                            the body: one item per line (ranks for BPE, words for
    ...                               WordTokenizer; ``io.py`` and ``word.py`` say which)

:func:`dumps` writes that shape and :func:`parse` checks it, so both tokenizers report every
problem in the same terms: one line, naming the file and where possible the line, raised as the
caller's error class (a ``ValueError``).  A file of the other tokenizer's format names the loader
to use instead.  Writes are atomic (``minigrad.atomic``): a crash never leaves half a file under
the real name.

What it leaves out: the body (each tokenizer checks its own items), and interop formats
(``io.py``: tiktoken rank files, Hugging Face export).
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

#: Each format's name -> (what its files are called in messages, the loader that reads them).
FORMATS = {
    "minigrad-bpe": ("tokenizer file", "a BPE tokenizer: use BPETokenizer.load"),
    "minigrad-words": ("word-tokenizer file", "a word tokenizer: use WordTokenizer.load"),
}


def dumps(name: str, version: int, header: dict[str, Any], items: list[str]) -> str:
    """The text of a file: format line, JSON header, one line per item, each ending in ``\\n``."""
    lines = [f"{name} {version}", json.dumps(header, ensure_ascii=False), *items]
    return "".join(f"{line}\n" for line in lines)


def read_text(path: str | os.PathLike[str], what: str, error: type[ValueError] = ValueError) -> str:
    """The UTF-8 text of ``path``; invalid UTF-8 raises ``error`` naming the line and byte."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"no such {what}", str(path)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(
            f"{path}, line {line}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None


def parse(
    text: str,
    name: str,
    version: int,
    source: str,
    *,
    error: type[ValueError] = ValueError,
    final_newline: bool = True,
) -> tuple[Any, list[str]]:
    """Check the format line and the header of a file's ``text``: ``(header, body lines)``.

    ``final_newline``: the last line must end with ``\\n`` (a file cut after a whole line
    would otherwise look complete); without it, a missing final newline is forgiven.
    """
    what = FORMATS[name][0]
    magic = f"{name} {version}"
    if "\r" in text:
        line = text.count("\n", 0, text.index("\r")) + 1
        raise error(
            f"{source}, line {line}: carriage return (\\r): this format ends lines with \\n only "
            "(was the file edited on Windows?)"
        )
    if "\n" not in text and magic.startswith(text):
        raise error(f"{source}: truncated: {'empty file' if not text else 'only ' + repr(text)}")
    lines = text.split("\n")
    first = lines[0].split(" ")
    if len(first) != 2 or first[0] != name:
        other = FORMATS.get(first[0]) if first[0] != name else None
        raise error(
            f"{source}: not a minigrad {what} (line 1 should be '{magic}', got "
            f"{lines[0][:80]!r}){'; it is ' + other[1] if other else ''}"
        )
    if first[1] != str(version):
        raise error(
            f"{source}: file format version {first[1][:20]!r} is not supported "
            f"(this minigrad reads version {version})"
        )
    if len(lines) < 3:  # a complete header line ends with "\n", so a third (maybe empty) part
        raise error(f"{source}: truncated: the header on line 2 is missing or incomplete")
    try:
        header = json.loads(lines[1])
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise error(f"{source}: line 2 is not a valid JSON header ({why})") from None
    body = lines[2:]
    if body[-1] == "":
        body.pop()
    elif final_newline:
        raise error(f"{source}: truncated: line {len(lines)} has no final newline")
    return header, body


def check_count(body: list[str], n: int, items: str, source: str, error=ValueError) -> None:
    """The body must hold the ``n`` lines that the header announces (a file cut short after a
    whole line, or with lines added, is damaged, not smaller or larger)."""
    if len(body) != n:
        raise error(
            f"{source}: truncated or padded: the header announces {n} {items}, "
            f"the file holds {len(body)}"
        )
