"""``minigrad tokenizer train|encode|decode``: the BPE tokenizer from the shell.

minigrad tokenizer train notes.txt more.txt --vocab-size 1000 -o my.mgbpe
minigrad tokenizer encode -t my.mgbpe "hello world"     ids, then the token strings
minigrad tokenizer decode -t my.mgbpe 31373 995          text
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from minigrad.commands.common import CLIError, add_command, echo, load_bpe
from minigrad.tokenizers import BPETokenizer, UnknownTokenError
from minigrad.tokenizers.patterns import describe_names


def _train(args: argparse.Namespace) -> int:
    """learn merges from text files and save the tokenizer"""
    paths = [Path(f) for f in args.files]
    for p in paths:
        if not p.is_file():
            raise CLIError(f"corpus file not found: {str(p)!r}")
    if all(p.stat().st_size == 0 for p in paths):
        raise CLIError(f"the corpus is empty: {', '.join(map(str, paths))}")
    out = Path(args.output)
    if not out.parent.is_dir():
        raise CLIError(f"output folder does not exist: {str(out.parent)!r}")
    try:
        tok = BPETokenizer.train(
            paths,
            args.vocab_size,
            pattern=args.pattern,
            special_tokens=args.special or (),
            min_frequency=args.min_frequency,
            show_progress=not args.quiet,
        )
    except (ValueError, TypeError) as exc:
        raise CLIError(f"cannot train: {exc}") from None
    tok.save(out)
    echo(f"trained {tok!r} on {len(paths)} file(s); saved to {out}")
    return 0


def _read_text(args: argparse.Namespace) -> str:
    if args.text == "-":
        return sys.stdin.read()
    return args.text


def _encode(args: argparse.Namespace) -> int:
    """text -> token ids (and the token strings)"""
    tok = load_bpe(args.tokenizer)
    text = _read_text(args)
    if args.allow_special:
        ids = tok.encode(text, allowed_special="all")
    else:
        try:
            ids = tok.encode(text)
        except ValueError as exc:  # a special token in ordinary text
            raise CLIError(f"{exc} (pass --allow-special to encode it as one token)") from None
    echo(" ".join(map(str, ids)))
    if not args.ids_only:
        pieces = [tok.decode_single_token_bytes(i) for i in ids]
        shown = [b.decode("utf-8", errors="backslashreplace") for b in pieces]
        echo(" | ".join(repr(s) for s in shown))
        echo(f"{len(ids)} tokens for {len(text.encode('utf-8'))} bytes")
    return 0


def _decode(args: argparse.Namespace) -> int:
    """token ids -> text"""
    tok = load_bpe(args.tokenizer)
    raw = " ".join(args.ids)
    if raw.strip() == "-":
        raw = sys.stdin.read()
    parts = [p for p in re.split(r"[\s,\[\]]+", raw) if p]
    ids = []
    for p in parts:
        try:
            ids.append(int(p))
        except ValueError:
            raise CLIError(f"token ids must be integers, got {p!r}") from None
    try:
        text = tok.decode(ids)
    except UnknownTokenError as exc:
        raise CLIError(str(exc)) from None
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "tokenizer",
        help="train a BPE tokenizer from files, encode text, decode ids",
        description="Byte-level BPE (tiktoken's encoding rule) from the shell.",
    )
    sub = p.add_subparsers(dest="tokenizer_command", metavar="ACTION")
    sub.required = True

    t = add_command(sub, "train", _train)
    t.add_argument("files", nargs="+", metavar="FILE", help="UTF-8 text files")
    t.add_argument(
        "--vocab-size", type=int, default=1000, help="tokens in all (default %(default)s)"
    )
    t.add_argument(
        "-o", "--output", default="tokenizer.mgbpe", help="file to write (default %(default)s)"
    )
    t.add_argument(
        "--pattern",
        default="gpt4",
        help=f"split pattern: a name, {describe_names()}; or a regex (default %(default)s)",
    )
    t.add_argument(
        "--special", action="append", metavar="TOKEN", help="a special token (repeatable)"
    )
    t.add_argument(
        "--min-frequency", type=int, default=2, help="stop when no pair occurs this often"
    )
    t.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    e = add_command(sub, "encode", _encode)
    e.add_argument("-t", "--tokenizer", required=True, metavar="FILE", help="tokenizer file")
    e.add_argument("text", help="the text, or - to read standard input")
    e.add_argument("--ids-only", action="store_true", help="print only the ids")
    e.add_argument("--allow-special", action="store_true", help="encode special tokens as such")

    d = add_command(sub, "decode", _decode)
    d.add_argument("-t", "--tokenizer", required=True, metavar="FILE", help="tokenizer file")
    d.add_argument("ids", nargs="+", help="ids (space or comma separated), or - for stdin")
