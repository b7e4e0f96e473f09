"""What the ``minigrad`` subcommands share: the user-error type, colour, token display helpers."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Any, ClassVar

from minigrad.tokenizers import BPETokenizer, WordTokenizer

Tokenizer = WordTokenizer | BPETokenizer


class CLIError(Exception):
    """A mistake in what the user asked for: printed as one line, exit code 2, no traceback."""


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


def token_text(tokenizer: Tokenizer, token_id: int) -> str:
    """A printable form of one token: the word, or the BPE token's text (``repr`` if not UTF-8)."""
    if isinstance(tokenizer, WordTokenizer):
        return tokenizer.id_to_token[token_id]
    raw = tokenizer.decode_single_token_bytes(token_id)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return repr(raw)


def visible(text: str) -> str:
    """Whitespace made visible for labels: ``" the"`` -> ``"·the"``, newline -> ``"↵"``."""
    return text.replace(" ", "·").replace("\n", "↵").replace("\t", "→")


def word_rows(tokenizer: Tokenizer, words: list[str]) -> dict[str, int]:
    """The embedding row of each word that is one token (BPE: ``" word"`` or ``"word"``)."""
    rows: dict[str, int] = {}
    for w in words:
        if isinstance(tokenizer, WordTokenizer):
            if w in tokenizer.token_to_id:
                rows[w] = tokenizer.token_to_id[w]
            continue
        for form in (" " + w, w):
            try:
                rows[w] = tokenizer.encode_single_token(form)
                break
            except KeyError:
                continue
    return rows


def lookup_token(tokenizer: Tokenizer, word: str) -> int:
    """The id of ``word`` as one token, or CLIError naming the word (used by ``neighbors``)."""
    found = word_rows(tokenizer, [word])
    if word in found:
        return found[word]
    if isinstance(tokenizer, WordTokenizer):
        raise CLIError(f"unknown word {word!r}: not in the vocabulary of {tokenizer.n_vocab} words")
    raise CLIError(
        f"{word!r} is not a single token of this BPE tokenizer ({tokenizer.n_vocab} tokens); "
        f"it encodes to {len(tokenizer.encode_ordinary(' ' + word))} tokens"
    )


def read_text_file(path: str | os.PathLike[str], what: str = "corpus") -> str:
    """Read a UTF-8 text file, with one-line errors for the usual problems."""
    p = Path(path)
    if not p.exists():
        raise CLIError(f"{what} file not found: {str(path)!r}")
    if p.is_dir():
        raise CLIError(f"{what} file {str(path)!r} is a directory")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CLIError(f"{what} file {str(path)!r} is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise CLIError(f"cannot read {what} file {str(path)!r}: {exc.strerror}") from None
    if not text.strip():
        raise CLIError(f"{what} file {str(path)!r} is empty")
    return text


def load_bpe(path: str | os.PathLike[str]) -> BPETokenizer:
    """Load a tokenizer file written by ``minigrad tokenizer train`` (or ``BPETokenizer.save``)."""
    p = Path(path)
    if not p.is_file():
        raise CLIError(f"tokenizer file not found: {str(path)!r}")
    try:
        return BPETokenizer.load(p)
    except (ValueError, OSError) as exc:
        raise CLIError(f"cannot load tokenizer {str(path)!r}: {exc}") from None


def echo(text: str = "", stream: IO[str] | None = None) -> None:
    print(text, file=stream or sys.stdout, flush=True)
