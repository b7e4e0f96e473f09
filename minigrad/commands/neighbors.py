"""``minigrad neighbors CHECKPOINT WORD``: the nearest tokens in a trained embedding space."""

from __future__ import annotations

import argparse
from typing import Any

from minigrad.checkpoint import embedding_matrix, load_checkpoint
from minigrad.commands.common import CLIError, add_command, echo, lookup_token, token_text
from minigrad.metrics import nearest_neighbours


def command(args: argparse.Namespace) -> int:
    """k nearest tokens to WORD by cosine similarity in a trained checkpoint

    Load a checkpoint written by `minigrad train` and list the tokens whose embedding rows point
    in the most similar direction to WORD's.
    """
    if args.k < 1:
        raise CLIError(f"-k must be at least 1, got {args.k}")
    ck = load_checkpoint(args.checkpoint)
    row = lookup_token(ck.tokenizer, args.word)
    vectors = embedding_matrix(ck.model)[: ck.tokenizer.n_vocab]
    classes = ck.word_classes or {}
    own = classes.get(args.word)
    echo(f"nearest to {args.word!r} (id {row}{', ' + own if own else ''}) by cosine similarity:")
    for rank, (i, sim) in enumerate(nearest_neighbours(vectors, row, k=args.k), 1):
        text = token_text(ck.tokenizer, i)
        cls = classes.get(text)
        tag = f"  [{cls}]" if cls else ""
        echo(f"{rank:3d}. {text!r:<14} {sim:+.3f}{tag}")
    return 0


def register(subparsers: Any) -> None:
    p = add_command(subparsers, "neighbors", command)
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="the --out folder of `minigrad train`")
    p.add_argument("word", metavar="WORD", help="a word (one token) of the checkpoint's vocabulary")
    p.add_argument("-k", type=int, default=5, help="how many neighbours (default %(default)s)")
