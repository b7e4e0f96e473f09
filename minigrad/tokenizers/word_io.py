"""The file format of ``WordTokenizer.save`` / ``WordTokenizer.load``.

Version 1, UTF-8 text, ``\\n`` line ends::

    minigrad-words 1
    {"n_words": 3}
    I
    love
    AI

Line 1 names the format and its version; line 2 is one JSON object giving the number of words;
then one word per line, in id order (the word on line ``k`` has id ``k - 3``).  The file ends
with a newline.  The shape is that of ``BPETokenizer.save``'s format (``tokenizers.io``).

Why plain lines are enough: a word never contains whitespace (``str.split`` made it), and
every character that could end a line (``\\n``, ``\\r``, ``\\x1c``-``\\x1e``, ``\\x85``,
U+2028, U+2029, ...) is whitespace to Python, so no word needs escaping.  Every other character
is stored as itself, so the file reads like the vocabulary it holds.  The one thing a Python
``str`` can hold and UTF-8 cannot is a lone surrogate (``"\\ud800"``, e.g. from text decoded
with ``errors="surrogateescape"``); ``save`` refuses such a word with a ``ValueError`` naming
it rather than writing a file that cannot be read back.

Why the count: a file cut short after a whole line would otherwise load as a smaller, valid
vocabulary.  With the count, and the rule that the file ends with a newline, every proper
prefix of a saved file is rejected.  Writes are atomic (``minigrad.atomic``).  Whatever is
wrong with a file, ``load`` raises :class:`WordFileError` (a ``ValueError``) saying which line;
a missing file raises ``FileNotFoundError``, as ``open`` does.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from minigrad.atomic import atomic_write_text
from minigrad.tokenizers.file_header import read_header

if TYPE_CHECKING:
    from minigrad.tokenizers.word import WordTokenizer

FORMAT_NAME = "minigrad-words"
FORMAT_VERSION = 1


class WordFileError(ValueError):
    """A word-tokenizer file that is damaged, of another format, or of another version."""


def dumps(tok: WordTokenizer) -> str:
    """The file contents ``save`` writes; a word the file cannot hold raises ``ValueError``."""
    from minigrad.tokenizers.word import check_word

    words = tok.id_to_token
    for i, word in enumerate(words):
        check_word(word)
        try:
            word.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"cannot save word {i} ({word!r}): it holds the lone surrogate "
                f"U+{ord(word[exc.start]):04X}, which UTF-8 cannot store"
            ) from None
        if tok.token_to_id.get(word) != i:
            raise ValueError(
                f"inconsistent tokenizer: id_to_token[{i}] is {word!r}, but token_to_id gives "
                f"it id {tok.token_to_id.get(word)!r}"
            )
    if len(tok.token_to_id) != len(words):
        raise ValueError(
            f"inconsistent tokenizer: token_to_id has {len(tok.token_to_id)} words, "
            f"id_to_token {len(words)}"
        )
    header = json.dumps({"n_words": len(words)})
    return "".join(f"{line}\n" for line in [f"{FORMAT_NAME} {FORMAT_VERSION}", header, *words])


def save(tok: WordTokenizer, path: str | os.PathLike[str]) -> None:
    """Write ``tok`` to ``path`` atomically (see the module docstring for the format)."""
    atomic_write_text(path, dumps(tok))


def loads(text: str, source: str = "<string>") -> list[str]:
    """The words, in id order, of a file's contents; anything wrong raises ``WordFileError``."""
    from minigrad.tokenizers.word import check_word

    if "\r" in text:
        line = text.count("\n", 0, text.index("\r")) + 1
        raise WordFileError(
            f"{source}, line {line}: carriage return (\\r): this format ends lines with \\n only "
            "(was the file edited on Windows?)"
        )
    magic = f"{FORMAT_NAME} {FORMAT_VERSION}"
    if "\n" not in text and magic.startswith(text):
        raise WordFileError(
            f"{source}: truncated: {'empty file' if not text else 'only ' + repr(text)}"
        )
    lines = text.split("\n")
    header = read_header(
        lines,
        name=FORMAT_NAME,
        version=FORMAT_VERSION,
        what="minigrad word-tokenizer file",
        source=source,
        error=WordFileError,
        hints={"minigrad-bpe": "; it is a BPE tokenizer: use BPETokenizer.load"},
    )
    n = header.get("n_words") if isinstance(header, dict) else None
    if not (isinstance(header, dict) and set(header) == {"n_words"} and type(n) is int and n >= 0):
        raise WordFileError(
            f'{source}: line 2 should be {{"n_words": <count>}}, got {lines[1][:80]!r}'
        )
    if lines[-1] != "":
        raise WordFileError(f"{source}: truncated: line {len(lines)} has no final newline")
    words = lines[2:-1]
    if len(words) != n:
        raise WordFileError(
            f"{source}: truncated or padded: the header announces {n} words, "
            f"the file holds {len(words)}"
        )
    seen: dict[str, int] = {}
    for i, word in enumerate(words):
        try:
            check_word(word)
        except ValueError:
            what = f"word {word[:80]!r} contains whitespace" if word else "empty line"
            raise WordFileError(f"{source}, line {i + 3}: {what}") from None
        if word in seen:
            raise WordFileError(
                f"{source}, line {i + 3}: duplicate word {word[:80]!r} "
                f"(already on line {seen[word]})"
            )
        seen[word] = i + 3
    return words


def load_words(path: str | os.PathLike[str]) -> list[str]:
    """The words, in id order, of a file written by ``save``."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "no such word-tokenizer file", str(path)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise WordFileError(
            f"{path}, line {line}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    return loads(text, source=str(path))
