"""``minigrad explain TEXT``: the walk-through of :mod:`minigrad.explain` from the shell."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from minigrad.commands.common import CLIError, add_colour_flag, add_command, load_bpe
from minigrad.explain import SEED_SENTENCE, ExplainError, explain
from minigrad.terminal import Style, use_colour


def command(args: argparse.Namespace) -> int:
    """walk the seed's pipeline on real numbers: tokens, ids, one-hot, embeddings, one step

    Text -> tokens -> ids -> one-hot -> embedding lookup (= one-hot @ E) -> one next-token
    training step: loss, the gradients with their formulas (dL/dlogits = softmax - one_hot,
    dL/dW, dL/dE: only ids that occurred), the update of W and E. --check prints a finite
    difference beside every gradient number.
    """
    tokenizer = load_bpe(args.tokenizer) if args.tokenizer else None
    style = Style(use_colour(sys.stdout, args.color))
    try:
        explain(
            args.text,
            seed_example=args.seed_example,
            tokenizer=tokenizer,
            dim=args.dim,
            lr=args.lr,
            seed=args.seed,
            out=sys.stdout,
            style=style,
            check=args.check,
        )
    except ExplainError as exc:
        raise CLIError(str(exc)) from None
    return 0


def register(subparsers: Any) -> None:
    p = add_command(subparsers, "explain", command)
    p.add_argument("text", nargs="?", default=SEED_SENTENCE, help="the text (default %(default)r)")
    p.add_argument(
        "--seed-example",
        action="store_true",
        help="use the seed's 3 x 4 embedding matrix E (the text must have 3 distinct words)",
    )
    p.add_argument("--tokenizer", metavar="FILE", help="also show the BPE view with this tokenizer")
    p.add_argument("--dim", type=int, default=4, help="embedding dimension d (default %(default)s)")
    p.add_argument("--lr", type=float, default=0.5, help="SGD learning rate (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights (default 0)")
    p.add_argument(
        "--check",
        action="store_true",
        help="print a finite-difference estimate beside every gradient number",
    )
    add_colour_flag(p)
