"""``minigrad tokenizer train|count|encode|decode``: the BPE tokenizer from the shell.

minigrad tokenizer train notes.txt more.txt --vocab-size 1000 -o my.mgbpe
minigrad tokenizer train big/*.txt --dask local -o my.mgbpe   count on a LocalCluster
minigrad tokenizer count big/*.txt -o counts.bin             count once ...
minigrad tokenizer train --counts counts.bin -o my.mgbpe      ... train from the counts
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
from minigrad.tokenizers import BPETokenizer, ChunkCounts, UnknownTokenError, count_chunks
from minigrad.tokenizers.patterns import describe_names


def _corpus_paths(files: list[str]) -> list[Path]:
    paths = [Path(f) for f in files]
    for p in paths:
        if not p.is_file():
            raise CLIError(f"corpus file not found: {str(p)!r}")
    if all(p.stat().st_size == 0 for p in paths):
        raise CLIError(f"the corpus is empty: {', '.join(map(str, paths))}")
    return paths


def _count(args: argparse.Namespace, paths: list[Path], pattern: str | None) -> ChunkCounts:
    """The chunk counts of the files: on Dask (``--dask``) or streamed in this process."""
    specials = args.special or ()
    if args.dask:
        if args.max_distinct is not None:
            raise CLIError("--max-distinct applies to counting in this process, not with --dask")
        from minigrad.tokenizers.dask import connect, count_files

        try:
            with connect(args.dask) as client:
                return count_files(paths, client=client, pattern=pattern, special_tokens=specials)
        except ImportError as exc:
            raise CLIError(str(exc)) from None
    return count_chunks(paths, pattern, specials, max_distinct=args.max_distinct)


def _train(args: argparse.Namespace) -> int:
    """learn merges from text files (or a counts file) and save the tokenizer"""
    if bool(args.files) == bool(args.counts):
        raise CLIError("give corpus FILEs or --counts FILE (one of the two)")
    out = Path(args.output)
    if not out.parent.is_dir():
        raise CLIError(f"output folder does not exist: {str(out.parent)!r}")
    try:
        if args.counts:
            if args.dask or args.max_distinct is not None:
                raise CLIError("--dask and --max-distinct apply to counting FILEs, not --counts")
            counts = _load_counts(args.counts)
            pattern = counts.pattern if args.pattern is None else args.pattern
            source = f"the counts in {args.counts}"
        else:
            paths = _corpus_paths(args.files)
            pattern = "gpt4" if args.pattern is None else args.pattern
            source = f"{len(paths)} file(s)"
            if not args.dask and args.max_distinct is None:  # the plain path: train itself
                counts = None
            else:
                counts = _count(args, paths, pattern)
        kw = dict(
            pattern=pattern,
            special_tokens=args.special or (),
            min_frequency=args.min_frequency,
            show_progress=not args.quiet,
        )
        if counts is None:
            tok = BPETokenizer.train(paths, args.vocab_size, **kw)
        else:
            tok = BPETokenizer.train_from_counts(counts, args.vocab_size, **kw)
    except (ValueError, TypeError, OSError) as exc:
        raise CLIError(f"cannot train: {exc}") from None
    tok.save(out)
    echo(f"trained {tok!r} on {source}; saved to {out}")
    return 0


def _load_counts(path: str) -> ChunkCounts:
    if not Path(path).is_file():
        raise CLIError(f"counts file not found: {path!r}")
    try:
        return ChunkCounts.load(path)
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def _count_cmd(args: argparse.Namespace) -> int:
    """count the chunks of text files into a counts file (train later with --counts)"""
    paths = _corpus_paths(args.files)
    out = Path(args.output)
    if not out.parent.is_dir():
        raise CLIError(f"output folder does not exist: {str(out.parent)!r}")
    if out.exists() and not args.force:
        raise CLIError(f"{str(out)!r} exists; pass --force to replace it")
    try:
        counts = _count(args, paths, "gpt4" if args.pattern is None else args.pattern)
        counts.save(out, overwrite=args.force)
    except (ValueError, TypeError, OSError) as exc:
        raise CLIError(f"cannot count: {exc}") from None
    echo(
        f"counted {counts.total():,} chunks ({len(counts):,} distinct) in {len(paths)} file(s); "
        f"saved to {out}"
    )
    return 0


def _add_counting_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--pattern",
        default=None,
        help=f"split pattern: a name, {describe_names()}; or a regex (default gpt4, "
        "or the pattern of --counts)",
    )
    p.add_argument(
        "--special", action="append", metavar="TOKEN", help="a special token (repeatable)"
    )
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="count on Dask: 'local' (a LocalCluster, one worker per CPU) or a scheduler "
        "address such as tcp://host:8786 (needs the scale extra)",
    )
    p.add_argument(
        "--max-distinct",
        type=int,
        metavar="N",
        help="keep at most N distinct chunks while counting, dropping the rarest "
        "(an approximation; exact by default)",
    )


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
    t.add_argument("files", nargs="*", metavar="FILE", help="UTF-8 text files")
    t.add_argument("--counts", metavar="FILE", help="train from a counts file instead of text")
    t.add_argument(
        "--vocab-size", type=int, default=1000, help="tokens in all (default %(default)s)"
    )
    t.add_argument(
        "-o", "--output", default="tokenizer.mgbpe", help="file to write (default %(default)s)"
    )
    _add_counting_options(t)
    t.add_argument(
        "--min-frequency", type=int, default=2, help="stop when no pair occurs this often"
    )
    t.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    c = add_command(sub, "count", _count_cmd)
    c.add_argument("files", nargs="+", metavar="FILE", help="UTF-8 text files")
    c.add_argument("-o", "--output", required=True, help="counts file to write")
    c.add_argument("--force", action="store_true", help="replace an existing counts file")
    _add_counting_options(c)

    e = add_command(sub, "encode", _encode)
    e.add_argument("-t", "--tokenizer", required=True, metavar="FILE", help="tokenizer file")
    e.add_argument("text", help="the text, or - to read standard input")
    e.add_argument("--ids-only", action="store_true", help="print only the ids")
    e.add_argument("--allow-special", action="store_true", help="encode special tokens as such")

    d = add_command(sub, "decode", _decode)
    d.add_argument("-t", "--tokenizer", required=True, metavar="FILE", help="tokenizer file")
    d.add_argument("ids", nargs="+", help="ids (space or comma separated), or - for stdin")
