"""What the ``minigrad`` subcommands share: the user-error type, parser wiring, token display.

(Colour lives in :mod:`minigrad.terminal`, below this package: ``minigrad.explain`` prints
with it too.)
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from minigrad.tokenizers import BPETokenizer, WordTokenizer

Tokenizer = WordTokenizer | BPETokenizer


class CLIError(Exception):
    """A mistake in what the user asked for: printed as one line, exit code 2, no traceback."""


def add_command(
    subparsers: Any, name: str, command: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    """The parser of subcommand ``name``, wired so that ``cli.main`` runs ``command(args)``.

    ``command``'s docstring is its help, written for the terminal: the first paragraph is the
    line ``minigrad --help`` lists, the rest the description ``minigrad NAME --help`` prints
    (argparse re-wraps both).
    """
    summary, _, rest = (inspect.getdoc(command) or "").partition("\n\n")
    p = subparsers.add_parser(
        name, help=" ".join(summary.split()), description=" ".join(rest.split()) or None
    )
    p.set_defaults(func=command)
    return p


def add_colour_flag(p: argparse.ArgumentParser) -> None:
    """``--color auto|always|never`` (see :func:`minigrad.terminal.use_colour`)."""
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="ANSI colour: auto (a terminal without NO_COLOR set), always or never",
    )


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
